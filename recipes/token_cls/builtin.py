"""The built-in NER corpus: template sentences filled with people, organisations, places and dates. Offline, seeded.

Every word list is cut into disjoint train/val/test pools, so the test split's names, places and organisation
stems never occur in training: a model has to read the context and the shape of a word, not remember a list
(the lexicon baseline in the evaluation shows how far remembering gets).
"""

from __future__ import annotations

import re

import numpy as np

from aiaas_recipes.token_cls import names
from aiaas_recipes.token_cls.records import Record

TYPES = ("PER", "ORG", "LOC", "DATE")
POOL_SHARES = {"train": 0.7, "val": 0.1, "test": 0.2}
SLOT = re.compile(r"\{(PER|ORG|LOC|DATE)\d?\}")

TEMPLATES = """
{PER} joined {ORG} as chief financial officer in {DATE}.
{PER} was born in {LOC} on {DATE}.
Shares of {ORG} fell sharply after {PER} resigned on {DATE}.
{ORG} will open a new office in {LOC} next year, {PER} told reporters.
According to {PER}, the talks in {LOC} ended without an agreement.
The mayor of {LOC}, {PER}, opened the bridge on {DATE}.
{PER} and {PER2} met in {LOC} to discuss the merger of {ORG} and {ORG2}.
Yesterday {ORG} announced that {PER} would lead its research team.
In {DATE}, {ORG} moved its headquarters from {LOC} to {LOC2}.
Dr. {PER} presented the results at a conference in {LOC}.
{PER} scored twice as the team from {LOC} won the final on {DATE}.
The contract between {ORG} and the city of {LOC} expires on {DATE}.
Police in {LOC} said {PER} had been released without charge.
{ORG} reported record profits for the quarter ending {DATE}.
After leaving {ORG}, {PER} founded a small company in {LOC}.
Our flight from {LOC} to {LOC2} was delayed until {DATE}.
{PER} has worked for {ORG} since {DATE}.
Professor {PER} of {ORG} warned that the drought in {LOC} could last for years.
The festival in {LOC} attracted thousands of visitors, organisers said.
A spokesperson for {ORG} declined to comment on the report.
{PER}, a nurse from {LOC}, won the regional chess title.
Representatives of {ORG} and {ORG2} signed the deal in {LOC} on {DATE}.
The new stadium in {LOC} was designed by {PER}.
{PER} will succeed {PER2} as head of {ORG} on {DATE}.
Investors expect {ORG} to announce job cuts before {DATE}.
Flooding closed the main road between {LOC} and {LOC2} for three days.
I met {PER} at the conference in {LOC} last spring.
On {DATE}, {PER} became the first woman to run {ORG}.
The court in {LOC} fined {ORG} for breaking safety rules.
{PER} said the museum in {LOC} would reopen on {DATE}.
Analysts at {ORG} raised their forecast for growth in {LOC}.
Minister {PER} visited the factory that {ORG} runs near {LOC}.
Please send the signed form to {PER} before {DATE}.
{ORG} hired {PER} to manage its operations in {LOC}.
The board of {ORG} met on {DATE} to approve the budget.
Born in {LOC}, {PER} moved to {LOC2} as a teenager.
The orchestra from {LOC} performed a new piece by {PER}.
Engineers from {ORG} repaired the pipeline outside {LOC}.
{PER} thanked the staff of {ORG} in a short speech.
The election in {LOC} was postponed until {DATE}.
Tickets for the match in {LOC} sold out within an hour.
{PER} lost the case against {ORG} on {DATE}.
Volunteers in {LOC} collected food for families affected by the storm.
The report by {ORG} names {PER} as the main author.
{PER} and her brother opened a bakery in {LOC} in {DATE}.
Sales at {ORG} rose by eight percent in {LOC} last quarter.
The treaty was signed in {LOC} on {DATE} by {PER} and {PER2}.
{ORG} recalled thousands of cars sold in {LOC}.
My cousin {PER} studies medicine at {ORG}.
The train from {LOC} arrives at noon on {DATE}.
Fans greeted {PER} at the airport in {LOC}.
{PER} criticised the decision by {ORG} to close the plant.
Temperatures in {LOC} reached a record high on {DATE}.
The partnership between {ORG} and {ORG2} was announced on {DATE}.
{PER}, who grew up in {LOC}, now coaches the national team.
Workers at {ORG} went on strike on {DATE} over pay.
The painting by {PER} sold for a record price in {LOC}.
Nobody expected {PER} to leave {ORG} so soon.
The new rail line will link {LOC} with {LOC2} by {DATE}.
{ORG} and the government of {LOC} agreed on a new tax rule.
We will meet {PER} in {LOC} on {DATE} to sign the lease.
The lawyer for {PER} said an appeal would be filed by {DATE}.
{PER} left {LOC} for {LOC2} in search of work.
Customers of {ORG} in {LOC} reported problems with their accounts.
The exhibition, curated by {PER}, runs until {DATE}.
Heavy snow fell across {LOC} overnight.
The committee chaired by {PER} will report to {ORG} in {DATE}.
Rescue teams reached the village near {LOC} on {DATE}.
{PER} is expected to sign with {ORG} before the season starts.
The annual meeting of {ORG} takes place in {LOC} on {DATE}.
Local farmers in {LOC} welcomed the rain after a long dry summer.
An interview with {PER} appears in the latest issue.
"What did {PER} tell the board of {ORG} on {DATE}?" asked one investor.
{ORG} (based in {LOC}) cut its prices by a third.
Among the speakers were {PER}, {PER2} and a delegation from {ORG}.
Weather permitting, the race from {LOC} to {LOC2} starts on {DATE}.
"We are not leaving {LOC}," {PER} insisted.
Last week {PER} quietly sold her stake in {ORG}.
Why did {ORG} delay the launch until {DATE}?
Two years after {DATE}, the plant near {LOC} is still closed.
The award went to {PER} for her work with refugees in {LOC}.
{PER} (born {DATE}) is a chemist at {ORG}.
Neither {ORG} nor {ORG2} would confirm the figures.
It rained all day in {LOC}, so the concert moved indoors.
Hundreds of people queued outside the {ORG} store in {LOC}.
Asked about the rumours, {PER} only smiled.
The delegation, led by {PER}, arrived in {LOC} late on {DATE}.
Citizens of {LOC} vote on the new park on {DATE}.
{PER} swapped {ORG} for a job at {ORG2} in {LOC}.
Records show that {ORG} paid no tax in {LOC} until {DATE}.
According to a source close to {PER}, the deal is off.
The old harbour of {LOC} draws painters from all over the world.
Staff at {ORG} learned of the closure by email.
{PER} grew up on a farm outside {LOC} and still visits every summer.
In a letter dated {DATE}, {PER} asked {ORG} for more time.
A new bakery opened in {LOC}; its owner, {PER}, bakes every night.
Officials from {LOC} and {LOC2} disagree about the border.
Until {DATE}, nobody outside {LOC} had heard of {PER}.
The novel by {PER} is set in {LOC} during the war.
{ORG} denied that {PER} had ever worked there.
Thanks to {PER}, the library in {LOC} stays open on Sundays.
Fewer tourists visited {LOC} this year than last.
The first shipment left {LOC} for {LOC2} on {DATE}.
Both {PER} and {PER2} declined to comment.
{PER} will speak at the {ORG} summit next month.
The bridge linking {LOC} with the island closed for repairs.
Investigators from {ORG} arrived in {LOC} on {DATE} to inspect the site.
He said {ORG} had promised to pay by {DATE}.
She works for {ORG} and lives in {LOC} with her two children.
Results will be published on {DATE}, a spokesman for {ORG} said.
"""

DATE_FORMATS = (
    "{day} {month} {year}", "{month} {day}, {year}", "{month} {year}", "{year}-{mm:02d}-{day:02d}",
    "{day:02d}/{mm:02d}/{year}", "{weekday}, {day} {month}", "{nth} of {month}", "{month} {nth}", "{year}",
    "early {month}", "late {year}",
)  # fmt: skip


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def pools(seed: int) -> dict[str, dict[str, list[str]]]:
    """Per split, its own share of every word list (seeded, disjoint between splits)."""
    rng = np.random.default_rng(seed)
    blocks = {"first": names.FIRST_NAMES, "last": names.LAST_NAMES, "city": names.CITIES,
              "country": names.COUNTRIES, "stem": names.ORG_STEMS}  # fmt: skip
    lists = {key: names.words(block) for key, block in blocks.items()}
    result: dict[str, dict[str, list[str]]] = {split: {} for split in POOL_SHARES}
    for key, values in lists.items():
        order = [values[i] for i in rng.permutation(len(values))]
        cuts = np.cumsum([int(round(len(order) * share)) for share in POOL_SHARES.values()])[:-1]
        for split, part in zip(POOL_SHARES, np.split(np.asarray(order, dtype=object), cuts)):
            result[split][key] = list(part)
    return result


class Filler:
    """Random people, organisations, places and dates drawn from one split's pools."""

    def __init__(self, pool: dict[str, list[str]], rng: np.random.Generator):
        self.pool, self.rng = pool, rng

    def pick(self, key: str) -> str:
        return str(self.pool[key][self.rng.integers(len(self.pool[key]))])

    def person(self) -> str:
        form = self.rng.random()
        if form < 0.55:
            return f"{self.pick('first')} {self.pick('last')}"
        if form < 0.7:
            return self.pick("last")
        if form < 0.8:
            return self.pick("first")
        if form < 0.9:
            return f"{self.pick('first')} {chr(65 + int(self.rng.integers(26)))}. {self.pick('last')}"
        return f"{self.pick('first')} {self.pick('last')}-{self.pick('last')}"

    def place(self) -> str:
        return self.pick("city") if self.rng.random() < 0.7 else self.pick("country")

    def organisation(self) -> str:
        kinds, form = names.words(names.ORG_KINDS), self.rng.random()
        kind = kinds[self.rng.integers(len(kinds))]
        suffix = names.ORG_SUFFIXES[self.rng.integers(len(names.ORG_SUFFIXES))]
        if form < 0.3:
            return f"{self.pick('stem')} {kind}"
        if form < 0.5:
            return f"{self.pick('stem')} {kind} {suffix}"
        if form < 0.62:
            return f"{self.pick('last')} {suffix}"
        if form < 0.7:
            return f"{self.pick('last')} & {self.pick('last')}"
        if form < 0.8:
            return f"University of {self.pick('city')}"
        if form < 0.9:
            return f"{self.pick('city')} {kind}"
        letters = "".join(chr(65 + int(i)) for i in self.rng.integers(26, size=int(self.rng.integers(2, 5))))
        return f"{letters} {kind}" if self.rng.random() < 0.5 else letters

    def date(self) -> str:
        fmt = DATE_FORMATS[self.rng.integers(len(DATE_FORMATS))]
        mm, day = int(self.rng.integers(1, 13)), int(self.rng.integers(1, 29))
        return fmt.format(
            day=day, mm=mm, month=names.MONTHS[mm - 1], year=int(self.rng.integers(1950, 2031)), nth=ordinal(day),
            weekday=names.WEEKDAYS[self.rng.integers(7)],
        )  # fmt: skip

    def fill(self, slot: str) -> str:
        return {"PER": self.person, "ORG": self.organisation, "LOC": self.place, "DATE": self.date}[slot]()


def sentence(template: str, filler: Filler) -> Record:
    """``template`` with each slot filled; the entities are the filled slots' character spans."""
    text, entities, last = "", [], 0
    for match in SLOT.finditer(template):
        text += template[last : match.start()]
        value = filler.fill(match.group(1))
        entities.append((len(text), len(text) + len(value), match.group(1)))
        text += value
        last = match.end()
    text += template[last:]
    if text[0].islower():  # a date such as "early May" may open the sentence
        text = text[0].upper() + text[1:]
    return Record(text, entities)


def template_pools(seed: int, unseen: bool) -> dict[str, list[str]]:
    """The templates each split is written from: all of them, or (``unseen``) disjoint shares of them."""
    templates = [line.strip() for line in TEMPLATES.strip().splitlines() if line.strip()]
    if not unseen:
        return {split: templates for split in POOL_SHARES}
    order = [templates[i] for i in np.random.default_rng([seed, 99]).permutation(len(templates))]
    cuts = np.cumsum([int(round(len(order) * share)) for share in POOL_SHARES.values()])[:-1]
    return {split: list(part) for split, part in zip(POOL_SHARES, np.split(np.asarray(order, dtype=object), cuts))}


def generate(sizes: dict[str, int], seed: int, unseen_templates: bool = False) -> dict[str, list[Record]]:
    """``sizes[split]`` sentences per split, each split filled from its own pools (and, with
    ``unseen_templates``, written from its own templates: the test split's sentences are new as a whole)."""
    split_pools, templates = pools(seed), template_pools(seed, unseen_templates)
    corpus = {}
    for index, split in enumerate(POOL_SHARES):
        rng = np.random.default_rng([seed, index])
        filler, mine = Filler(split_pools[split], rng), templates[split]
        corpus[split] = [sentence(mine[rng.integers(len(mine))], filler) for _ in range(sizes[split])]
    return corpus
