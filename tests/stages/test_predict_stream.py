"""`aiaas predict` over many inputs: lazy sources (folders, @list files, s3:// prefixes), --shard and --resume."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from aiaas_cli import workspace
from aiaas_cli.errors import ConfigError, UserError
from aiaas_cli.stages import predict_inputs


@pytest.fixture(scope="module")
def model_path(exported_run) -> Path:
    return workspace.run_dir(exported_run) / "model.onnx"


@pytest.fixture(scope="module")
def many(tmp_path_factory, held_out_images) -> Path:
    """200 digit images in 4 sub-folders (copies of the held-out ones under new names) and one file that is not."""
    folder = tmp_path_factory.mktemp("many")
    for i in range(200):
        source, label = held_out_images[i % len(held_out_images)]
        target = folder / f"part{i % 4}" / f"{i:03d}-{label}.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(source, target)
    (folder / "part1" / "broken.png").write_text("not an image")
    return folder


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_walk_keeps_the_order_of_sorted_rglob(tmp_path):
    for name in ["b.txt", "a/z.txt", "a/b/c.txt", "more/x.txt", "more.txt", "A.txt", ".hidden/x.txt", "a/.h.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    (tmp_path / "empty").mkdir()
    expected = [p for p in sorted(tmp_path.rglob("*")) if p.is_file() and ".h" not in str(p.relative_to(tmp_path))]
    assert list(predict_inputs.walk(tmp_path)) == expected
    listed = tmp_path / "list.txt"
    listed.write_text("\n".join(str(p) for p in expected) + "\n\n")
    assert list(predict_inputs.sources([f"@{listed}"])) == [str(p) for p in expected]
    assert list(predict_inputs.sources([f"@{listed}", str(tmp_path / "a")]))[-2:] == [
        str(tmp_path / "a/b/c.txt"),
        str(tmp_path / "a/z.txt"),
    ]


def test_a_folder_gives_only_the_modules_input_suffixes_and_a_named_file_always_counts(tmp_path):
    for name in ("a.wav", "a.txt", "b.WAV", "notes.md"):
        (tmp_path / "clips" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "clips" / name).write_bytes(b"x")
    found = list(predict_inputs.sources([str(tmp_path / "clips"), str(tmp_path / "clips" / "a.txt")], {".wav"}))
    assert [Path(name).name for name in found] == ["a.wav", "b.WAV", "a.txt"]  # the transcript only when named
    assert len(list(predict_inputs.sources([str(tmp_path / "clips")]))) == 4  # no suffixes: every file


def test_shards_partition_the_inputs():
    names = [f"folder/{i:05d}.png" for i in range(2000)]
    parts = [list(predict_inputs.in_shard(names, str, (i, 3))) for i in range(3)]
    assert sorted(sum(parts, [])) == names  # disjoint and complete
    assert all(600 < len(part) < 734 for part in parts)  # roughly even
    assert list(predict_inputs.in_shard(names, str, (0, 1))) == names


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1/0", "a/2", "1", "0/2/3", ""])
def test_bad_shard_is_a_usage_error(text):
    with pytest.raises(ConfigError, match="--shard must be i/n"):
        predict_inputs.parse_shard(text)


def test_resume_drops_a_torn_line_and_checks_names(tmp_path):
    out = tmp_path / "p.jsonl"
    out.write_text('{"input": "a"}\n{"input": "b"}\n{"inp')
    resume = predict_inputs.Resume(str(out))
    assert resume.torn and out.read_text() == '{"input": "a"}\n{"input": "b"}\n'
    assert list(resume.skip(iter("abcd"), str)) == ["c", "d"] and resume.done == 2
    with pytest.raises(UserError, match="row 2 is 'b' but this run's input 2 is 'x'"):
        list(predict_inputs.Resume(str(out)).skip(iter("axcd"), str))
    with pytest.raises(ConfigError, match="--resume needs --output"):
        predict_inputs.Resume(None)


def test_list_file_and_folder_give_the_same_lines(cli, model_path, many, tmp_path):
    by_folder = cli("predict", "image-cls", str(many), "--model", str(model_path)).stdout
    listed = tmp_path / "paths.txt"
    listed.write_text("".join(f"{p}\n" for p in sorted(many.rglob("*.png"))))
    by_list = cli("predict", "image-cls", f"@{listed}", "--model", str(model_path)).stdout
    assert lines(by_list) == lines(by_folder) and len(lines(by_folder)) == 201


def test_two_shards_and_a_resumed_run_give_the_unsharded_lines(cli, model_path, many, tmp_path):
    whole = lines(cli("predict", "image-cls", str(many), "--model", str(model_path)).stdout)
    halves = []
    for i in range(2):
        out = tmp_path / f"part{i}.jsonl"
        summary = cli.json(
            "predict", "image-cls", str(many), "--model", str(model_path), "--shard", f"{i}/2", "-o", str(out)
        )
        assert summary["shard"] == f"{i}/2"
        halves.append(lines(out.read_text()))
    assert not set(halves[0]) & set(halves[1]) and sorted(halves[0] + halves[1]) == sorted(whole)
    # shard 0 killed after 37 rows, mid-way through row 38; resumed with the same command line
    out = tmp_path / "part0.jsonl"
    out.write_text("".join(f"{line}\n" for line in halves[0][:37]) + halves[0][37][:20])
    args = ("predict", "image-cls", str(many), "--model", str(model_path), "--shard", "0/2", "-o", str(out))
    summary = cli.json(*args, "--resume")
    assert summary["skipped"] == 37 and summary["inputs"] == len(halves[0]) - 37
    assert lines(out.read_text()) == halves[0]
    assert cli.json(*args, "--resume")["inputs"] == 0  # a finished file: nothing to do, exit 0


def test_resume_appends_to_a_csv_file(cli, model_path, many, tmp_path):
    out = tmp_path / "p.csv"
    cli("predict", "image-cls", str(many / "part1"), "--model", str(model_path), "-o", str(out))
    whole = out.read_text()
    rows = whole.splitlines(keepends=True)
    out.write_text("".join(rows[:11]) + rows[11][:5])  # the header and 10 rows, then a torn one
    cli("predict", "image-cls", str(many / "part1"), "--model", str(model_path), "-o", str(out), "--resume")
    assert out.read_text() == whole
    with open(out, newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 51


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "2/2"], "--shard must be i/n with 0 <= i < n (e.g. 0/4), got '2/2'"),
        (["--resume"], "--resume needs --output FILE"),
        (["@missing-list.txt"], "list file missing-list.txt does not exist"),
    ],
)
def test_usage_errors_are_one_line(cli, model_path, many, args, message):
    inputs = [] if args[0].startswith("@") else [str(many)]
    result = cli("predict", "image-cls", *inputs, *args, "--model", str(model_path), expect=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_s3_prefix_is_listed_and_read(cli, model_path, many, s3):
    import boto3

    client = boto3.client("s3")
    files = sorted((many / "part2").glob("*.png"))[:12]
    for path in files:
        client.upload_file(str(path), "models", f"inputs/{path.name}")
    client.put_object(Bucket="models", Key="inputs/.hidden.png", Body=b"skipped")
    remote = [
        json.loads(line)
        for line in lines(cli("predict", "image-cls", "s3://models/inputs/", "--model", str(model_path)).stdout)
    ]
    local = [
        json.loads(line)
        for line in lines(cli("predict", "image-cls", *map(str, files), "--model", str(model_path)).stdout)
    ]
    assert [r["input"] for r in remote] == [f"s3://models/inputs/{p.name}" for p in files]
    assert [{**r, "input": None} for r in remote] == [{**r, "input": None} for r in local]
