"""The probe's fixed sequence (docs/probe.md lists it): nine steps on two rows, A and B, each a
write and a read back, ordered so that every combination of behaviours is told apart. The body
shape is settled first and every later write uses it; each answer is judged by which row
carries the step's own message in the read back, never by the write's answer alone.
"""

from __future__ import annotations

import json
from typing import Literal

from reconciler.contract import Contract
from reconciler.probe.evidence import Row, element, rows_of
from reconciler.probe.failures import ProbeError
from reconciler.probe.questions import CONSEQUENCES, Answer, QuestionId
from reconciler.probe.scratch import Scratch, sender_for
from reconciler.probe.traffic import Prober, refused, why

INVALID_TYPE = "RECONCILER_PROBE_INVALID"
UNKNOWN_FIELD = "reconcilerProbeUnknownField"


class Steps:
    """Runs the sequence once; ``answers`` and ``contract`` hold what it found."""

    def __init__(self, prober: Prober, scratch: Scratch) -> None:
        self.p = prober
        self.ta, self.tb = scratch.types
        self.c1 = scratch.first.id
        self.c2 = scratch.second.id if scratch.second is not None else None
        self.sender = sender_for(scratch.first)
        self.scratch = scratch
        self.answers: dict[QuestionId, Answer] = {}
        self.known: dict[int, Row] = {}  # the last state a read showed of each probe row
        self.a = self.b = 0  # the ids of rows A and B
        self.count = 0
        self.partial_array = False  # an array body was stored only in part, read back
        # (c) is settled once (d) is known: what became of A, and of the target's own rows.
        self._c_state = ""
        self._c_steps: list[int] = []
        self._c_lost: list[int] = []

    async def run(self) -> None:
        await self.body_shape()
        await self.left_out()
        await self.inactive()
        await self.update_by_id()
        await self.same_key()
        await self.second_channel()
        await self.order()
        await self.unknown_field()
        await self.invalid_type()

    def contract(self) -> Contract:
        def differs(question: QuestionId) -> bool:
            return self.answers[question].matches is False

        match: Literal["id", "key", "type"] = (
            "type" if differs("k") else "key" if differs("b") else "id"
        )
        if match == "type":
            self.answers["b"].consequence = "match: type — see (k)"
        body: Literal["array", "object", "single"] = self.p.shape
        if self.partial_array:
            body = "single"
            why = "body: single — an array is not applied whole: one request per communication"
            self.answers["f"].consequence = why
        return Contract(
            upsert="replace" if differs("c") else "merge",
            match=match,
            inactiveRowsVisible=not differs("d"),
            keepsServerFields=not differs("e"),
            body=body,
        )

    # --- helpers ---------------------------------------------------------------------------

    def message(self, what: str) -> str:
        self.count += 1
        return f"{self.p.journal.marker}: {self.count} {what}"

    def new(self, kind: str, channel: int, message: str) -> dict[str, object]:
        return element(kind, channel, message, self.sender)

    def answer(
        self, question: QuestionId, text: str, matches: bool | None, steps: list[int]
    ) -> None:
        consequence = CONSEQUENCES.get(question, "") if matches is False else ""
        self.answers[question] = Answer(question, text, matches, consequence, list(steps))

    async def read(self) -> list[Row]:
        rows = await self.p.read()
        self.known.update({row.id: row for row in rows if self.p.mine(row)})
        return rows

    def carrier(self, rows: list[Row], message: str) -> Row:
        """The row that carries ``message`` after a write of it."""
        for row in rows:
            if row.message == message:
                return row
        raise ProbeError(
            f"step {self.p.step}: no row of the target carries what the probe just wrote; "
            "the server acknowledged a write it did not store"
        )

    # --- the steps -------------------------------------------------------------------------

    async def body_shape(self) -> None:
        """(j), then (i): create A as an array of one; if refused, as one object."""
        text = self.message("create A")
        new_a = self.new(self.ta, self.c1, text)
        written = await self.p.write("create A, as an array", [new_a], shape="array")
        steps = [self.p.step]
        if refused(written):
            first = why(written)
            written = await self.p.write("create A, as one object", [new_a], shape="object")
            steps.append(self.p.step)
            if refused(written):
                raise ProbeError(
                    f"the upsert accepted neither an array ({first}) nor one object "
                    f"({why(written)})"
                )
            self.p.journal.body = "object"
            self.p.save()
            self.answer("j", f"one object only: an array got {first}", False, steps)
        else:
            self.answer("j", f"an array: HTTP {written.status}", True, steps)
        rows = await self.read()
        row = self.carrier(rows, text)
        self.a = row.id
        self.channel_echo(written.response_body, row, text, [steps[-1], self.p.step])

    def channel_echo(self, body: object, read: Row, text: str, steps: list[int]) -> None:
        """(i): the channelId of the write's answer (else the read's), as sent?"""
        answered = next((r for r in rows_of(body) if r.message == text), None)
        where = (
            "the upsert answered"
            if answered is not None
            else "the answer held no row; the GET answered"
        )
        value = (answered or read).raw.get("channelId")
        shown = json.dumps(value)
        if type(value) is int and value == self.c1:
            self.answer("i", f"as sent: {where} channelId {shown}", True, steps)
        elif isinstance(value, str) and value.strip() == str(self.c1):
            self.answers["i"] = Answer(
                "i",
                f"as a string: sent {self.c1}, {where} {shown}",
                False,
                CONSEQUENCES["i-string"],
                steps,
            )
        else:
            self.answer("i", f"not as sent: sent {self.c1}, {where} {shown}", False, steps)

    async def left_out(self) -> None:
        """(c): create B alone, leaving A out of the body."""
        text = self.message("create B, leaving A out")
        await self.p.must_write("create B, leaving A out", [self.new(self.tb, self.c1, text)])
        steps = [self.p.step]
        rows = await self.read()
        steps.append(self.p.step)
        self.b = self.carrier(rows, text).id
        by_id = {row.id: row for row in rows}
        after = by_id.get(self.a)
        self._c_state = (
            "kept"
            if after is not None and after.active is not False
            else ("deactivated" if after is not None else "absent")
        )
        self._c_steps = steps
        lost = [
            r.id
            for r in self.scratch.active_baseline
            if by_id.get(r.id) is None or by_id[r.id].active is False
        ]
        self._c_lost = lost
        if lost:
            # The server replaces the whole set: from now on every array carries the target's
            # own rows as they were, so the next write restores them (one-object bodies cannot;
            # the clean-up tries, and names what stays off).
            self.p.journal.restore = [r.element(active=True) for r in self.scratch.active_baseline]
            self.p.save()

    async def inactive(self) -> None:
        """(d): deactivate B, read back; then settle (c), which needed (d) for 'absent'."""
        text = self.message("deactivate B")
        await self.p.must_write(
            "deactivate B", [self.known[self.b].element(active=False, messageTemplate=text)]
        )
        steps = [self.p.step]
        rows = await self.read()
        steps.append(self.p.step)
        after = next((row for row in rows if row.id == self.b), None)
        if after is not None and after.active is not False:
            raise ProbeError(
                f"row {self.b} is still active after a write with active: false; the probe "
                "cannot deactivate (and so cannot clean up) on this server"
            )
        visible = after is not None
        if visible:
            self.answer("d", f"yes: id {self.b} is answered with active: false", True, steps)
        else:
            self.answer("d", f"no: id {self.b} is gone from the GET once deactivated", False, steps)
        state = self._c_state
        if state == "kept":
            text_c = f"kept: id {self.a} stayed active"
        elif state == "deactivated":
            text_c = f"deactivated: id {self.a} is answered with active: false"
        elif visible:
            text_c = f"deleted: id {self.a} is gone from the GET"
        else:
            text_c = f"deactivated or deleted: id {self.a} is gone from the GET, which hides inactive rows"
        if self._c_lost:
            ids = ", ".join(map(str, self._c_lost))
            restored = (
                "the probe sent them back unchanged with every later write"
                if self.p.shape == "array"
                else "one-object bodies cannot restore them"
            )
            text_c += f"; so were the target's own rows {ids}: {restored}"
        self.answer(
            "c", text_c, state == "kept", self._c_steps + (steps if state == "absent" else [])
        )

    async def update_by_id(self) -> None:
        """(a) and (e): update A by its id, without configs; if they went, carry them back."""
        before = self.known[self.a]
        text = self.message("update A by its id")
        await self.p.must_write(
            "update A by its id, without configs",
            [before.element(active=True, messageTemplate=text)],
        )
        steps = [self.p.step]
        rows = await self.read()
        steps.append(self.p.step)
        row = self.carrier(rows, text)
        if row.id == self.a:
            self.answer("a", f"yes: id {self.a} carries the update; no row was added", True, steps)
        else:
            self.answer(
                "a", f"no: the element with id {self.a} added a row (id {row.id})", False, steps
            )
            return self.answer("e", "unknown: the update by id did not update the row", None, steps)
        if not before.has_configs():
            return self.answer(
                "e",
                "unknown: the server returned no configs, so the assumption stays "
                "(keepsServerFields: true)",
                None,
                steps,
            )
        kept, fields = before.server_fields(), row.server_fields()
        if fields == kept:
            return self.answer("e", f"keeps them: id {self.a}'s configs are unchanged", True, steps)
        text_e = f"empties them: id {self.a} had {json.dumps(kept)}, then {json.dumps(fields)}"
        text2 = self.message("update A with its configs")
        echoed = await self.p.write(
            "update A, carrying its configs back",
            [row.element(active=True, messageTemplate=text2) | kept],
        )
        steps.append(self.p.step)
        rows = await self.read()
        steps.append(self.p.step)
        again = next((r for r in rows if r.id == self.a), None)
        if refused(echoed):
            text_e += f"; a body carrying them back is refused: {why(echoed)}"
        elif again is not None and again.server_fields() == kept:
            text_e += "; an update that carries them back keeps them"
        else:
            text_e += "; an update that carries them back does not restore them either"
        self.answer("e", text_e, False, steps)

    async def same_key(self) -> None:
        """(b): A's key again, without an id."""
        before = {row.id for row in self.p.rows} | set(self.known) | set(self.p.baseline)
        text = self.message("A's key without an id")
        await self.p.must_write("A's key again, without an id", [self.new(self.ta, self.c1, text)])
        steps = [self.p.step]
        rows = await self.read()
        steps.append(self.p.step)
        row = self.carrier(rows, text)
        if row.id in before:
            self.answer("b", f"updates it: id {row.id} carries it; no second row", False, steps)
        else:
            self.answer("b", f"adds a second row: id {row.id}, next to id {self.a}", True, steps)

    async def second_channel(self) -> None:
        """(k): A's type on the second channel, without an id."""
        if self.c2 is None:
            return self.answer("k", "unknown: the org lists one channel only", None, [])
        before = {**self.p.baseline, **self.known, **{row.id: row for row in self.p.rows}}
        text = self.message("A's type on another channel")
        await self.p.must_write("A's type on another channel", [self.new(self.ta, self.c2, text)])
        steps = [self.p.step]
        rows = await self.read()
        steps.append(self.p.step)
        row = self.carrier(rows, text)
        old = before.get(row.id)
        if old is not None:
            self.answer(
                "k",
                f"overwrites: id {row.id} moved from channel {old.channel} to {self.c2}",
                False,
                steps,
            )
        else:
            self.answer("k", f"adds a row: id {row.id} on channel {self.c2}", True, steps)

    async def order(self) -> None:
        """(f): B and A in one body, the higher id first."""
        if self.p.shape == "object":
            return self.answer("f", "not applicable: the upsert takes one object", None, [])
        first, second = self.message("B, sent first"), self.message("A, sent second")
        written = await self.p.must_write(
            "B and A in one body, the higher id first",
            [
                self.known[self.b].element(active=True, messageTemplate=first),
                self.known[self.a].element(active=True, messageTemplate=second),
            ],
        )
        steps = [self.p.step]
        sent = written.request_body if isinstance(written.request_body, list) else []
        messages = [str(e.get("messageTemplate")) for e in sent if isinstance(e, dict)]
        answered = [row.message for row in rows_of(written.response_body)]
        stored = {row.message for row in await self.read()}
        steps.append(self.p.step)
        if missing := [m for m in messages if m not in stored]:
            # A server that applies part of an array (say, only its first element) cannot be
            # sent a target's writes in one body: one request per communication is safe.
            self.partial_array = True
            return self.answer(
                "f",
                f"only {len(messages) - len(missing)} of the {len(messages)} elements of one "
                "array were stored, read back",
                False,
                steps,
            )
        if answered == messages:
            self.answer("f", f"in the order sent: ids {self.b}, {self.a}", True, steps)
        elif sorted(answered) == sorted(messages):
            ids = ", ".join(str(r.id) for r in rows_of(written.response_body))
            self.answer(
                "f", f"in another order: sent ids {self.b}, {self.a}; answered {ids}", False, steps
            )
        else:
            self.answer(
                "f",
                f"unknown: the answer held {len(answered)} rows for {len(messages)} sent",
                None,
                steps,
            )

    async def unknown_field(self) -> None:
        """(g): an update of A with a field the API does not document."""
        text = self.message("update A with an unknown field")
        body = self.known[self.a].element(active=True, messageTemplate=text)
        written = await self.p.write(
            "update A with an unknown field", [body | {UNKNOWN_FIELD: "probe"}]
        )
        steps = [self.p.step]
        rows = await self.read()
        steps.append(self.p.step)
        if refused(written):
            return self.answer("g", f"rejected: {why(written)}", None, steps)
        stored = any(row.message == text for row in rows)
        what = "the row was updated" if stored else "the row was not updated"
        self.answer("g", f"accepted: HTTP {written.status}, and {what}", None, steps)

    async def invalid_type(self) -> None:
        """(h): a new row of a communicationType that does not exist."""
        text = self.message("an invalid communicationType")
        written = await self.p.write(
            "an invalid communicationType", [self.new(INVALID_TYPE, self.c1, text)]
        )
        steps = [self.p.step]
        if refused(written):
            matches = 400 <= written.status < 500
            return self.answer("h", why(written), matches, steps)
        rows = await self.read()
        steps.append(self.p.step)
        made = next((row.id for row in rows if row.message == text), None)
        made_text = f": it created row {made}" if made is not None else ""
        self.answer("h", f"accepted with HTTP {written.status}{made_text}", False, steps)
