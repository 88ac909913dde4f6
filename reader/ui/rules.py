"""File > Rules…: the rules (a saved search and what to do with what it finds), adding one, removing
one, and applying them to every stored article. Rules act on new articles by themselves, as they
are stored (reader.store does it); the dialog's writes run on job threads, and a rule the store
refuses is said in one line in the dialog, never a modal box.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reader.records import Feed, Progress, Rule, counted
from reader.store import StoreError
from reader.ui.article_model import ArticleListModel
from reader.ui.dialogs import row_table
from reader.ui.jobs import JobKind, StoreWork

#: The table's columns.
COLUMNS = ("Rule", "Finds", "Then")
#: The action box: its text, and the action stored ("label" takes the name typed beside it).
ACTIONS = (("Mark read", "read"), ("Star", "star"), ("Hide", "hide"), ("Label…", "label"))


def action_text(action: str) -> str:
    kind, _, label = action.partition(":")
    return f"label “{label}”" if kind == "label" else {"read": "mark read", "star": "star", "hide": "hide"}[kind]


class RulesDialog(QDialog):
    """The rules' table, the form to add one, and Remove / Apply to all."""

    def __init__(self, work: StoreWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rulesDialog")
        self.setWindowTitle("Rules")
        self._work = work
        self.rules: list[Rule] = []

        self.table = row_table("rulesTable", COLUMNS)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)

        self.name = QLineEdit()
        self.name.setObjectName("ruleName")
        self.match = QLineEdit()
        self.match.setObjectName("ruleMatch")
        self.match.setPlaceholderText('as in the search field: words, "a phrase", title:, author:, body:, source:')
        self.action = QComboBox()
        self.action.setObjectName("ruleAction")
        for text, value in ACTIONS:
            self.action.addItem(text, value)
        self.label = QLineEdit()
        self.label.setObjectName("ruleLabel")
        self.label.setPlaceholderText("label")
        self.label.setEnabled(False)
        self.action.currentIndexChanged.connect(lambda _i: self.label.setEnabled(self.action.currentData() == "label"))
        self.scope = QComboBox()
        self.scope.setObjectName("ruleScope")
        self.scope.addItem("Every feed", "")
        self.add_button = QPushButton("Add rule")
        self.add_button.setObjectName("addRule")
        self.add_button.clicked.connect(self.on_add_clicked)
        self.match.returnPressed.connect(self.on_add_clicked)
        then = QHBoxLayout()
        then.addWidget(self.action)
        then.addWidget(self.label, 1)
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Finds:", self.match)
        form.addRow("Then:", then)
        form.addRow("Only in:", self.scope)
        form.addRow("", self.add_button)

        self.status = QLabel()
        self.status.setObjectName("rulesStatus")
        self.status.setWordWrap(True)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeRule")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self.on_remove_clicked)
        self.apply_button = QPushButton("Apply to all articles")
        self.apply_button.setObjectName("applyRules")
        self.apply_button.clicked.connect(self.on_apply_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.apply_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(640, 420)

    # --- the table ---

    def reload(self) -> None:
        """Read the rules again, in the background."""
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> tuple[list[Rule], list[Feed]]:
            with db.open() as store:
                return store.rules(), store.feeds()

        def done(found: tuple[list[Rule], list[Feed]]) -> None:
            rules, feeds = found
            self.show_scopes(feeds)
            self.show_rules(rules)

        self._work.jobs.start(JobKind.RULES, work, done, quiet=True)

    def show_scopes(self, feeds: list[Feed]) -> None:
        """What a rule may be limited to: every feed, one feed, or a sync folder's feeds."""
        chosen = self.scope.currentData()
        self.scope.clear()
        self.scope.addItem("Every feed", "")
        for folder in sorted({f.folder for f in feeds if f.folder}, key=str.lower):
            self.scope.addItem(f"Folder: {folder}", f"folder:{folder}")
        for feed in feeds:
            self.scope.addItem(feed.name, f"feed:{feed.id}")
        self.scope.setCurrentIndex(max(0, self.scope.findData(chosen)))

    def show_rules(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.table.setRowCount(len(rules))
        for row, rule in enumerate(rules):
            only = rule.feed_url or (f"folder {rule.folder}" if rule.folder else None)
            finds = rule.query + (f" (only {only})" if only else "")
            for column, text in enumerate((rule.name, finds, action_text(rule.action))):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def _selected(self) -> Rule | None:
        rows = self.table.selectionModel().selectedRows()
        return self.rules[rows[0].row()] if rows else None

    # --- buttons ---

    def on_add_clicked(self) -> None:
        name, query = self.name.text().strip(), self.match.text().strip()
        kind = str(self.action.currentData())
        action = f"label:{self.label.text().strip()}" if kind == "label" else kind
        kind_of_scope, _, scope = str(self.scope.currentData() or "").partition(":")
        feed_id = int(scope) if kind_of_scope == "feed" else None
        folder = scope if kind_of_scope == "folder" else None
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> list[Rule] | str:
            with db.open() as store:
                try:
                    store.add_rule(name, query, action, feed_id, folder)
                except StoreError as exc:
                    return str(exc)  # said in the dialog, in one line
                return store.rules()

        def done(rules: list[Rule] | str) -> None:
            if isinstance(rules, str):
                self.status.setText(rules[:1].upper() + rules[1:])
                return
            self.show_rules(rules)
            self.name.clear()
            self.match.clear()
            self.label.clear()
            self.status.setText(f"Added {name}: it acts on new articles. Apply to all for those stored.")

        self.status.clear()
        self._work.jobs.start(JobKind.RULES, work, done, quiet=True)

    def on_remove_clicked(self) -> None:
        rule = self._selected()
        if rule is None:
            return
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> list[Rule]:
            with db.open() as store:
                store.remove_rule(rule.name)
                return store.rules()

        def done(rules: list[Rule]) -> None:
            self.show_rules(rules)
            self.status.setText(f"Removed {rule.name} (what it did stays done).")

        self._work.jobs.start(JobKind.RULES, work, done, quiet=True)

    def on_apply_clicked(self) -> None:
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> dict[str, int]:
            with db.open() as store:
                return store.apply_rules()

        def done(applied: dict[str, int]) -> None:
            changed = sum(applied.values())
            self.status.setText(
                f"Applied {counted(len(applied), 'rule')}: {counted(changed, 'article')} changed."
                if applied
                else "No rules to apply."
            )
            if changed:
                self._work.reload()
                self._work.refresh_counts()

        self._work.jobs.start(JobKind.RULES, work, done, label="Applying rules")


class Rules(QObject):
    """Owns File > Rules…: the dialog (one, kept); and the article list's context menu, which
    undoes what a rule did to an article: "Unhide" under Hidden, "Remove label" under a label."""

    def __init__(
        self,
        window: QWidget,
        work: StoreWork,
        parent: QObject | None = None,
        *,
        articles: QListView | None = None,
        model: ArticleListModel | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._work = work
        self._articles = articles
        self._model = model
        self.dialog: RulesDialog | None = None
        if articles is not None:
            articles.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            articles.customContextMenuRequested.connect(self._on_context_menu)

    def article_menu(self, row: int) -> QMenu | None:
        """The context menu of the article at ``row`` (None when there is nothing to undo in this
        view): the rule's hiding or label taken back from it."""
        model, articles = self._model, self._articles
        article = model.row(row) if model is not None else None
        if article is None or model is None or articles is None:
            return None
        query = model.query
        menu = QMenu(articles)
        menu.setObjectName("articleMenu")
        if query.view == "hidden":
            unhide = QAction("Unhide", menu)
            unhide.setToolTip("List it again where it was before a rule hid it (it stays read)")
            unhide.triggered.connect(lambda: self.undo(article.id, "Unhid 1 article", hidden=True))
            menu.addAction(unhide)
        if query.label is not None:
            label = query.label
            remove = QAction(f"Remove label “{label}”", menu)
            remove.triggered.connect(lambda: self.undo(article.id, f"Label “{label}” taken off 1 article", label=label))
            menu.addAction(remove)
        if menu.isEmpty():
            menu.deleteLater()
            return None
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        articles = self._articles
        assert articles is not None
        index = articles.indexAt(pos)
        menu = self.article_menu(index.row()) if index.isValid() else None
        if menu is not None:
            menu.exec(articles.viewport().mapToGlobal(pos))
            menu.deleteLater()

    def undo(self, article_id: int, said: str, *, hidden: bool = False, label: str | None = None) -> None:
        """Take back a rule's hiding (``hidden``) or ``label`` from one article, on a job thread
        (a synced article's label taken: queued for its server); the list and counts follow."""
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> int:
            with db.open() as store:
                if hidden:
                    return store.set_hidden([article_id], False)
                return store.remove_label([article_id], label or "")

        def done(changed: int) -> None:
            if changed:
                self._work.message(said)
                self._work.reload()
                self._work.refresh_counts()

        self._work.jobs.start(JobKind.RULES, work, done, quiet=True)

    def show_rules(self) -> None:
        if self.dialog is None:
            self.dialog = RulesDialog(self._work, self._window)
            self.dialog.setModal(False)
        self.dialog.reload()
        self.dialog.show()
        self.dialog.activateWindow()
