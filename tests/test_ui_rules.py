"""Rules in the window: File > Rules… adds, removes and applies them (writes on job threads, a
refused rule said in the dialog); the labels they give are a section of the sidebar with unread
counts, and what they hide has an entry of its own."""

from __future__ import annotations

from typing import Any

from conftest import OFFSCREEN_SIZE_HINTS, all_titles, wait_job

from reader.records import Query
from reader.store import Store
from reader.ui.actions import Action
from reader.ui.jobs import JobKind
from reader.ui.rules import RulesDialog
from reader.ui.sidebar import COUNT_ROLE, SidebarKey

pytestmark = OFFSCREEN_SIZE_HINTS


def open_rules(qtbot: Any, window: Any) -> RulesDialog:
    with wait_job(qtbot, window, JobKind.RULES):
        window.action_registry[Action.RULES].trigger()
    dialog = window.rules.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def add_rule(qtbot: Any, window: Any, dialog: RulesDialog, name: str, match: str, action: str, label: str = "") -> None:
    dialog.name.setText(name)
    dialog.match.setText(match)
    dialog.action.setCurrentIndex(dialog.action.findData(action))
    dialog.label.setText(label)
    with wait_job(qtbot, window, JobKind.RULES):
        dialog.add_button.click()


def sidebar_entry(window: Any, text: str) -> Any:
    for i in range(window.sidebar.count()):
        if window.sidebar.item(i).text() == text:
            return window.sidebar.item(i)
    return None


def test_rules_are_added_applied_and_their_labels_listed(qtbot: Any, window: Any, known_store: Store) -> None:
    dialog = open_rules(qtbot, window)
    add_rule(qtbot, window, dialog, "volcanoes", "volcano", "label", "Money")
    assert [r.name for r in dialog.rules] == ["volcanoes"]
    assert dialog.table.item(0, 2).text() == "label “Money”"
    assert "acts on new articles" in dialog.status.text()

    # (Applying reloads the list and recounts.)
    with wait_job(qtbot, window, JobKind.COUNTS), wait_job(qtbot, window, JobKind.RULES):
        dialog.apply_button.click()
    labelled = known_store.count(Query(label="Money"))
    assert labelled > 0
    assert dialog.status.text() == f"Applied 1 rule: {labelled} articles changed."
    entry = sidebar_entry(window, "Money")
    assert entry is not None and entry.data(COUNT_ROLE) == labelled  # all unread
    assert sidebar_entry(window, "Labels") is not None  # its section's header

    window.sidebar.setCurrentItem(entry)
    assert window.sidebar.current_key == SidebarKey("all", label="Money")
    titles = all_titles(window)
    assert len(titles) == labelled and all("volcano" in t for t in titles)


def test_a_rule_limited_to_one_feed_in_the_dialog(qtbot: Any, window_factory: Any, store: Store, tmp_path: Any) -> None:
    from conftest import import_inputs

    for name in ("gazette", "herald"):
        path = tmp_path / f"{name}.rss"
        path.write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>https://x.example/</link>'
            f"<description>x</description><item><title>{name} harbour story</title><guid>{name}-1</guid>"
            f"<link>https://x.example/{name}/1</link></item></channel></rss>",
            encoding="utf-8",
        )
        import_inputs(store, [("feed", str(path))])
    window = window_factory(store)
    dialog = open_rules(qtbot, window)
    gazette = next(f for f in store.feeds() if f.title == "gazette")
    dialog.scope.setCurrentIndex(dialog.scope.findData(f"feed:{gazette.id}"))
    assert dialog.scope.currentText() == "gazette"
    add_rule(qtbot, window, dialog, "gazette harbour", "harbour", "star")
    assert dialog.rules[0].feed_id == gazette.id
    assert "(only " in dialog.table.item(0, 1).text()
    with wait_job(qtbot, window, JobKind.RULES):
        dialog.apply_button.click()
    assert {r.title: r.starred for r in store.iter_rows()} == {
        "gazette harbour story": True,
        "herald harbour story": False,
    }


def test_a_refused_rule_is_said_in_the_dialog_and_nothing_is_added(qtbot: Any, window: Any) -> None:
    dialog = open_rules(qtbot, window)
    add_rule(qtbot, window, dialog, "empty", "  ", "read")
    assert dialog.status.text() == "Rule empty: the query '' has no word to match"
    assert dialog.rules == [] and dialog.table.rowCount() == 0


def test_hidden_articles_leave_the_lists_and_have_an_entry(qtbot: Any, window: Any, known_store: Store) -> None:
    before = len(all_titles(window))
    dialog = open_rules(qtbot, window)
    add_rule(qtbot, window, dialog, "no comets", "comet", "hide")
    with wait_job(qtbot, window, JobKind.COUNTS), wait_job(qtbot, window, JobKind.RULES):
        dialog.apply_button.click()
    hidden = known_store.hidden_count()
    assert hidden > 0
    qtbot.waitUntil(lambda: len(all_titles(window)) == before - hidden)
    assert not any("comet" in t for t in all_titles(window))
    entry = sidebar_entry(window, "Hidden")
    assert entry is not None and entry.data(COUNT_ROLE) == hidden
    window.sidebar.setCurrentItem(entry)
    assert len(all_titles(window)) == hidden

    dialog.table.selectRow(0)
    with wait_job(qtbot, window, JobKind.RULES):
        dialog.remove_button.click()
    assert dialog.rules == [] and "what it did stays done" in dialog.status.text()


def test_the_article_menu_undoes_a_rules_hiding_and_label(qtbot: Any, window: Any, known_store: Store) -> None:
    dialog = open_rules(qtbot, window)
    add_rule(qtbot, window, dialog, "no comets", "comet", "hide")
    add_rule(qtbot, window, dialog, "volcanoes", "volcano", "label", "Fire")
    with wait_job(qtbot, window, JobKind.COUNTS), wait_job(qtbot, window, JobKind.RULES):
        dialog.apply_button.click()
    hidden, labelled = known_store.hidden_count(), known_store.count(Query(label="Fire"))
    assert window.rules.article_menu(0) is None  # All articles: nothing a rule did to undo here

    window.sidebar.setCurrentItem(sidebar_entry(window, "Hidden"))
    qtbot.waitUntil(lambda: len(all_titles(window)) == hidden)
    comet = window.model.row(0)
    (unhide,) = window.rules.article_menu(0).actions()
    assert unhide.text() == "Unhide"
    with wait_job(qtbot, window, JobKind.COUNTS), wait_job(qtbot, window, JobKind.RULES):
        unhide.trigger()
    assert known_store.hidden_count() == hidden - 1
    assert window.statusBar().currentMessage() == "Unhid 1 article"
    qtbot.waitUntil(lambda: len(all_titles(window)) == hidden - 1)
    assert comet.id in [r.id for r in known_store.iter_rows(Query(view="all"))]  # listed again

    window.sidebar.setCurrentItem(sidebar_entry(window, "Fire"))
    qtbot.waitUntil(lambda: len(all_titles(window)) == labelled)
    volcano = window.model.row(0)
    (remove,) = window.rules.article_menu(0).actions()
    assert remove.text() == "Remove label “Fire”"
    with wait_job(qtbot, window, JobKind.COUNTS), wait_job(qtbot, window, JobKind.RULES):
        remove.trigger()
    assert volcano.id not in [r.id for r in known_store.iter_rows(Query(label="Fire"))]
    assert known_store.count(Query(label="Fire")) == labelled - 1
    assert sidebar_entry(window, "Fire").data(COUNT_ROLE) == labelled - 1
    qtbot.waitUntil(lambda: len(all_titles(window)) == labelled - 1)
