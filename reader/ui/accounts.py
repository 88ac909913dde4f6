"""File > Accounts…: the sync accounts (name, server, last sync, last error); adding one (the
server's URL, the user, the API password: logged in on a worker, one line in the dialog when that
fails, and then nothing is saved), removing one (asked first; says what went), syncing now.

The dialog is not modal: the window keeps working while a login or a sync runs. Nothing here
waits on the network on the GUI thread, and ``reader.sync`` is imported by the jobs alone.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from reader.records import Account, Progress, counted
from reader.store import StoreError, StoreProtocol
from reader.ui.dialogs import row_table
from reader.ui.jobs import JobKind, StoreWork
from reader.ui.syncing import Syncing

if TYPE_CHECKING:
    from reader.sync.accounts import Added

#: The table's columns.
COLUMNS = ("Account", "Server", "Last sync", "Last error")


class AccountsDialog(QDialog):
    """The accounts' table, the form to add one, and Remove / Sync now."""

    def __init__(self, store: StoreProtocol, work: StoreWork, syncing: Syncing, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Accounts")
        self._store = store
        self._work = work
        self._syncing = syncing
        self._accounts: list[Account] = []
        self._adding = False

        self.table = row_table("accountsTable", COLUMNS)
        self.table.itemSelectionChanged.connect(self.on_selection_changed)

        self.url = QLineEdit()
        self.url.setObjectName("accountUrl")
        self.url.setPlaceholderText("https://rss.example.org/api/greader.php")
        self.user = QLineEdit()
        self.user.setObjectName("accountUser")
        self.password = QLineEdit()
        self.password.setObjectName("accountPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("the API password set on the server, not the login one")
        self.add_button = QPushButton("Add account")
        self.add_button.setObjectName("addAccount")
        self.add_button.clicked.connect(self.on_add_clicked)
        self.password.returnPressed.connect(self.on_add_clicked)
        form = QFormLayout()
        form.addRow("Server URL", self.url)
        form.addRow("User", self.user)
        form.addRow("API password", self.password)
        form.addRow("", self.add_button)

        #: One line: what the last add or remove came to, or why it failed.
        self.status = QLabel()
        self.status.setObjectName("accountsStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("removeAccount")
        self.remove_button.clicked.connect(self.on_remove_clicked)
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setObjectName("syncAccounts")
        self.sync_button.clicked.connect(self.on_sync_clicked)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.sync_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.status)
        self.resize(720, 420)
        syncing.synced.connect(self.on_synced)
        self.reload()

    @classmethod
    def ask_remove(cls, parent: QWidget, name: str) -> bool:
        """Whether the person means to forget ``name`` (tests replace this)."""
        answer = QMessageBox.question(
            parent,
            "Remove account",
            f"Remove the account {name}? Its feeds and articles go from this computer (starred "
            "articles are kept); nothing changes on the server.",
        )
        return answer == QMessageBox.StandardButton.Yes

    @property
    def accounts(self) -> list[Account]:
        """The accounts as the table lists them."""
        return list(self._accounts)

    def selected(self) -> Account | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self._accounts[min(rows)] if rows else None

    def say(self, line: str) -> None:
        self.status.setText(line)

    def reload(self) -> None:
        """List the accounts again (a few rows of one small table: read here from a store file,
        by a job on a shared store), keeping the selected one selected."""
        if self._work.db.shared:
            db = self._work.db

            def work(progress: Progress, cancel: threading.Event) -> list[Account]:
                with db.open(create=False) as store:
                    return store.accounts()

            self._work.jobs.start(JobKind.ACCOUNTS, work, self._show_accounts, quiet=True)
            return
        try:
            accounts = self._store.accounts()
        except StoreError as exc:
            self.say(str(exc))
            return
        self._show_accounts(accounts)

    def _show_accounts(self, accounts: list[Account]) -> None:
        chosen = self.selected()
        self._accounts = accounts
        self.table.setRowCount(len(self._accounts))
        for row, account in enumerate(self._accounts):
            if self._syncing.is_syncing(account.name):
                synced = "syncing…"
            elif account.last_sync is not None:
                synced = account.last_sync.astimezone().strftime("%Y-%m-%d %H:%M")
            else:
                synced = "never"
            for column, text in enumerate((account.name, account.url, synced, account.last_error or "")):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
            if chosen is not None and account.id == chosen.id:
                self.table.selectRow(row)
        self.on_selection_changed()

    def on_selection_changed(self) -> None:
        self.remove_button.setEnabled(self.selected() is not None)
        self.sync_button.setEnabled(bool(self._accounts))

    def on_synced(self, _name: str) -> None:
        self.reload()

    def on_sync_clicked(self) -> None:
        """The selected account, or every account when none is selected."""
        account = self.selected()
        if account is not None:
            self._syncing.sync_account(account.name)
        else:
            self._syncing.sync_accounts()
        self.reload()

    def on_add_clicked(self) -> None:
        if self._adding:
            return
        url, user, password = self.url.text().strip(), self.user.text().strip(), self.password.text()
        if not url or not user or not password:
            missing = [what for what, value in (("URL", url), ("user", user), ("API password", password)) if not value]
            self.say(f"To add an account, give its {', '.join(missing)}.")
            return
        self._adding = True
        self.add_button.setEnabled(False)
        self.say(f"Logging in to {url}…")
        db = self._work.db

        def work(progress: Progress, cancel: threading.Event) -> Added | str:
            from reader.sync.accounts import AccountError, add_account  # not before it is used

            try:
                return add_account(db.target, url, user, password, person=db.person)
            except (AccountError, StoreError) as exc:
                return str(exc)

        self._work.jobs.start(JobKind.ADD_ACCOUNT, work, self.on_added, label="Logging in")

    def on_added(self, result: Added | str) -> None:
        self._adding = False
        self.add_button.setEnabled(True)
        if isinstance(result, str):
            self.say(result)  # nothing was saved: the fields stay, to be corrected
            return
        self.password.clear()
        self.url.clear()
        self.user.clear()
        line = f"{result}; syncing it now."
        self.say(line)
        self._work.message(line)
        self._syncing.sync_account(result.account.name)
        self.reload()
        self._work.refresh_counts()

    def on_remove_clicked(self) -> None:
        account = self.selected()
        if account is None:
            return
        name = account.name
        if self._syncing.is_syncing(name):
            self.say(f"{name} is syncing: remove it once that sync has ended.")
            return
        if not self.ask_remove(self, name):
            return
        if self._syncing.is_syncing(name):  # the timer or r may have started one while we asked
            self.say(f"{name} is syncing: remove it once that sync has ended.")
            return
        self._syncing.hold(name)
        db = self._work.db
        account_id = account.id

        def work(progress: Progress, cancel: threading.Event) -> str:
            from reader.sync import credentials  # not before it is used

            with db.open() as store:
                removed, kept, feeds = store.remove_account(account_id)
            credentials.delete_token(name)
            return f"Removed account {name}: {counted(feeds, 'feed')} and {counted(removed, 'article')}" + (
                f" ({kept} starred kept)" if kept else ""
            )

        def done(line: str) -> None:
            self.say(line)
            self._work.message(line)
            self.reload()
            self._work.reload()
            self._work.refresh_counts()

        self._work.jobs.start(
            JobKind.REMOVE_ACCOUNT, work, done, label=f"Removing {name}", ended=lambda: self._syncing.release(name)
        )


class Accounts(QObject):
    """Owns File > Accounts…: one dialog, kept once shown."""

    def __init__(
        self, window: QWidget, store: StoreProtocol, work: StoreWork, syncing: Syncing, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._store = store
        self._work = work
        self._syncing = syncing
        #: The dialog, once shown.
        self.dialog: AccountsDialog | None = None

    def show_accounts(self) -> None:
        if self.dialog is None:
            self.dialog = AccountsDialog(self._store, self._work, self._syncing, self._window)
        else:
            self.dialog.reload()
        self.dialog.show()
        self.dialog.activateWindow()
