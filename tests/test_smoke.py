def test_trained_run_reaches_accuracy(trained_run):
    assert trained_run["metrics"]["accuracy"] >= 0.9
    assert trained_run["checkpoint"].endswith("best.ckpt")
