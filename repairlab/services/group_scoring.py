"""Pure computations behind group sessions: the group's position, tallies, debriefs.

No database and no UI here: the group service reads rows and hands plain
values in, so these rules are easy to test and shared by the host's screen,
the trainees' screens and the records written at the end.

* The group's position is a play-through replayed from the group's path.
* A tally counts the answers given at one decision, per offered choice, with
  each choice's score, zone and feedback (anonymous: counts only).
* The default branch is the most chosen response; ties go to the higher
  score, then to the order the author wrote the choices in.
* A trainee's answers are scored *at the group's node*: their choice is
  scored against what was on offer there, with the group's variables, even
  when the group went another way. Their debrief is those scores; the path
  and the ending are the group's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine import Choice, ChoiceOutcome, Playthrough, Rubric, Scenario

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letter(index: int) -> str:
    return LETTERS[index] if index < len(LETTERS) else str(index + 1)


def replay(scenario: Scenario, rubric: Rubric, actions: Sequence[str | None]) -> Playthrough:
    """The group's play-through after `actions` (its path so far)."""
    return Playthrough.resume(scenario, rubric, list(actions))


def score_at(play: Playthrough, choice_id: str) -> ChoiceOutcome:
    """The outcome `choice_id` would have at the play-through's current decision (play unchanged)."""
    probe = Playthrough(
        play.scenario,
        play.rubric,
        play.node_id,
        dict(play.variables),
        list(play.path),
        list(play.actions),
        list(play.outcomes),
    )
    return probe.choose(choice_id)


@dataclass(frozen=True)
class ChoiceTally:
    """One offered response at a group decision, with how many chose it."""

    letter: str  # A, B, C... in the author's order (the projector's labels)
    choice_id: str
    text: str
    count: int
    score: float
    zone_id: str
    zone: str
    feedback: str
    strategies: tuple[str, ...]  # labels
    scores: Mapping[str, int]
    is_best: bool


@dataclass(frozen=True)
class Tally:
    step: int
    node_id: str
    answered: int
    choices: tuple[ChoiceTally, ...]  # in the author's order

    @property
    def default_branch(self) -> str:
        """Most chosen; ties broken by the higher score, then the author's order."""
        order = {c.choice_id: i for i, c in enumerate(self.choices)}
        return max(self.choices, key=lambda c: (c.count, c.score, -order[c.choice_id])).choice_id

    def by_id(self, choice_id: str) -> ChoiceTally | None:
        return next((c for c in self.choices if c.choice_id == choice_id), None)


def tally(play: Playthrough, answers: Iterable[str], step: int | None = None) -> Tally:
    """Count `answers` (choice ids) at the play-through's current decision."""
    rubric = play.rubric
    offered = play.offered_choices()
    counts = Counter(answers)
    scored = {c.id: rubric.score(c.scores) for c in offered}
    best = max(scored.values()) if scored else 0.0
    rows = []
    for index, choice in enumerate(offered):
        zone_id = rubric.zone_of(choice.scores)
        rows.append(
            ChoiceTally(
                letter=letter(index),
                choice_id=choice.id,
                text=choice.text,
                count=counts.get(choice.id, 0),
                score=scored[choice.id],
                zone_id=zone_id,
                zone=rubric.zone_label(zone_id),
                feedback=choice.feedback,
                strategies=tuple(rubric.strategies.get(s, s) for s in choice.strategies),
                scores=dict(choice.scores),
                is_best=scored[choice.id] == best,
            )
        )
    answered = sum(counts.get(c.id, 0) for c in offered)
    return Tally(play.step if step is None else step, play.node_id, answered, tuple(rows))


# -- the group's whole path ------------------------------------------------------------


@dataclass(frozen=True)
class GroupDecision:
    """One decision the group passed (or the current one, once revealed)."""

    number: int  # 1-based decision number
    step: int
    node_id: str
    situation: str
    cue: str | None
    tally: Tally
    branch: str | None  # the response the group followed; None while still open


@dataclass(frozen=True)
class GroupPoint:
    """All answers of one response at one decision: a bubble on the group balance chart."""

    number: int  # decision number
    letter: str
    choice_id: str
    scores: Mapping[str, int]
    score: float
    zone: str
    count: int
    followed: bool  # the branch the group took


@dataclass
class GroupDebriefData:
    title: str
    rubric: Rubric
    decisions: list[GroupDecision]
    points: list[GroupPoint]
    path_outcomes: list[ChoiceOutcome]  # the branches the group followed, scored
    strategies: list[tuple[str, int]]  # (label, answers using it), most used first
    zones: list[tuple[str, int]]  # (zone label, answers in it), in the rubric's order
    answers: int
    mean_score: float | None
    ending: str | None
    ending_text: str | None
    ending_debrief: str | None
    participants: int = 0
    extra: dict = field(default_factory=dict)


def group_debrief(
    scenario: Scenario,
    rubric: Rubric,
    actions: Sequence[str | None],
    answers_by_step: Mapping[int, Sequence[str]],
    revealed_current: bool,
    participants: int,
) -> GroupDebriefData:
    """The group debrief: distribution at every decision, points, strategies, zones."""
    play = Playthrough.start(scenario, rubric)
    decisions: list[GroupDecision] = []
    path_outcomes: list[ChoiceOutcome] = []
    for step in range(len(actions) + (1 if revealed_current else 0)):
        action = actions[step] if step < len(actions) else None
        if play.kind == "decision":
            counted = tally(play, answers_by_step.get(step, ()), step)
            node = play.node
            decisions.append(
                GroupDecision(len(decisions) + 1, step, play.node_id, node.text, node.cue, counted, action)
            )
            if step < len(actions):
                path_outcomes.append(play.choose(action))
        elif step < len(actions):
            play.proceed()
    points: list[GroupPoint] = []
    strategy_counts: Counter[str] = Counter()
    zone_counts: Counter[str] = Counter()
    total = 0
    score_sum = 0.0
    for decision in decisions:
        for row in decision.tally.choices:
            if row.count:
                points.append(
                    GroupPoint(
                        decision.number,
                        row.letter,
                        row.choice_id,
                        row.scores,
                        row.score,
                        row.zone,
                        row.count,
                        row.choice_id == decision.branch,
                    )
                )
            for label in row.strategies:
                strategy_counts[label] += row.count
            zone_counts[row.zone] += row.count
            total += row.count
            score_sum += row.score * row.count
    node = play.node  # where the group is now
    finished = node.ending is not None
    return GroupDebriefData(
        title=scenario.title,
        rubric=rubric,
        decisions=decisions,
        points=points,
        path_outcomes=path_outcomes,
        strategies=[(label, n) for label, n in strategy_counts.most_common() if n],
        zones=[(z.label, zone_counts.get(z.label, 0)) for z in rubric.zones.values()],
        answers=total,
        mean_score=score_sum / total if total else None,
        ending=node.ending if finished else None,
        ending_text=node.text if finished else None,
        ending_debrief=node.debrief if finished else None,
        participants=participants,
    )


# -- one trainee's answers ----------------------------------------------------------------


@dataclass(frozen=True)
class TraineeRow:
    number: int  # decision number
    step: int
    node_id: str
    situation: str
    answer: ChoiceOutcome | None  # None: no answer given at this decision
    answer_text: str | None
    best_text: str
    best_feedback: str
    group_choice_text: str | None  # the branch the group followed


@dataclass
class TraineeResult:
    rows: list[TraineeRow]
    outcomes: list[ChoiceOutcome]  # the answered decisions, scored at the group's nodes
    score: float | None
    means: dict[str, float]
    zone: str | None  # zone id of the means
    strategies: list[tuple[str, int]]
    decisions: int  # decisions the group passed
    ending: str | None
    ending_text: str | None
    ending_debrief: str | None


def trainee_result(
    scenario: Scenario, rubric: Rubric, actions: Sequence[str | None], answers: Mapping[int, str]
) -> TraineeResult:
    """A trainee's answers scored at each decision of the group's path."""
    play = Playthrough.start(scenario, rubric)
    rows: list[TraineeRow] = []
    outcomes: list[ChoiceOutcome] = []
    for step, action in enumerate(actions):
        if play.kind == "decision":
            node = play.node
            texts = {c.id: c.text for c in node.choices or []}
            feedbacks = {c.id: c.feedback for c in node.choices or []}
            mine = answers.get(step)
            outcome = score_at(play, mine) if mine is not None and mine in _offered_ids(play) else None
            best_id = best_choice(play).id
            if outcome is not None:
                outcomes.append(outcome)
            rows.append(
                TraineeRow(
                    number=len(rows) + 1,
                    step=step,
                    node_id=play.node_id,
                    situation=node.text,
                    answer=outcome,
                    answer_text=texts.get(mine) if outcome is not None else None,
                    best_text=texts[best_id],
                    best_feedback=feedbacks[best_id],
                    group_choice_text=texts.get(action),
                )
            )
        play.act(action)
    means = rubric.means([o.scores for o in outcomes])
    counts = Counter(s for o in outcomes for s in o.strategies)
    return TraineeResult(
        rows=rows,
        outcomes=outcomes,
        score=sum(o.score for o in outcomes) / len(outcomes) if outcomes else None,
        means=means,
        zone=rubric.zone_of(means) if means else None,
        strategies=[(rubric.strategies.get(s, s), n) for s, n in counts.most_common()],
        decisions=len(rows),
        ending=play.ending,
        ending_text=play.node.text if play.finished else None,
        ending_debrief=play.node.debrief if play.finished else None,
    )


def _offered_ids(play: Playthrough) -> set[str]:
    return {c.id for c in play.offered_choices()}


def best_choice(play: Playthrough) -> Choice:
    offered = play.offered_choices()
    return max(offered, key=lambda c: play.rubric.score(c.scores))
