"""Finding choice sequences that reach a given ending, for driving the UI in tests."""

from __future__ import annotations

from engine import Playthrough, Rubric, Scenario


def path_to_ending(scenario: Scenario, rubric: Rubric, ending: str) -> list[str] | None:
    """Choice ids (in order) of some play-through that ends with `ending`, or None."""

    def search(actions: list[str], depth: int) -> list[str] | None:
        play = Playthrough.resume(scenario, rubric, [])
        for action in actions:
            play.proceed_through_narration()
            play.choose(action)
        play.proceed_through_narration()
        if play.finished:
            return actions if play.ending == ending else None
        if depth > 30:
            return None
        for choice in play.offered_choices():
            found = search([*actions, choice.id], depth + 1)
            if found is not None:
                return found
        return None

    return search([], 0)
