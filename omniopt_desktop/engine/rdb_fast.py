"""A worker's hot path on PostgreSQL in few round trips, in Optuna's storage format.

With 8 active workers on PostgreSQL a worker's engine time per trial was mostly round trips and
ORM objects, not TPE (docs/scaling.md): every Optuna storage call is a transaction (``BEGIN``,
a read of the trial, the write, ``COMMIT``), its ``tell`` reads the trial before and after, its
trial creation takes four statements. Each round trip also waits for the server's backend to
get a core on a busy machine. Here, with SQLAlchemy Core on the RDB storage's own engine:

- reads run in autocommit (no ``BEGIN``/``COMMIT``): :func:`light_rows` (id, number, state,
  parameter count of the trials a worker's cache does not hold finished),
- :func:`create_trial`: ``BEGIN``, lock the study row (as Optuna does, so numbers stay dense
  and unique), one ``INSERT .. SELECT count(*) .. RETURNING``, ``COMMIT`` — sent as one
  psycopg pipeline, so the lock is not held across round trips;
- :func:`write_params`: all parameters of a trial in one ``INSERT .. SELECT`` that inserts
  nothing unless the trial is still RUNNING or WAITING (one statement, atomic);
- :func:`finish_trial`: the user attrs, the values and the state of a trial in ONE statement
  (``UPDATE .. WHERE state = 'RUNNING' RETURNING`` feeding an upsert of the attrs and an insert
  of the values): a reaped trial gets none of it (``UpdateFinishedTrialError``);
- :func:`set_system_attr`: a lease renewal as one upsert that writes nothing to a finished trial.

The rows are those Optuna writes (same tables, columns, JSON, enum names, naive UTC times);
``tests/scale/test_scale_fast.py`` reads them back with plain Optuna. Only for PostgreSQL
(:func:`usable`); SQLite and other databases keep Optuna's calls. ``OMNIOPT_WORKER_CACHE=1``
turns this module off (the previous caches only), ``=0`` the caches too.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple


def usable(backend: Any) -> bool:
    """True for an Optuna ``RDBStorage`` on PostgreSQL with the fast path switched on."""
    from .trial_cache import level

    engine = getattr(backend, "engine", None)
    return level() >= 2 and engine is not None and engine.name == "postgresql"


def _tables() -> Any:
    from optuna.storages._rdb import models as m

    return (
        m.StudyModel.__table__,
        m.TrialModel.__table__,
        m.TrialParamModel.__table__,
        m.TrialValueModel.__table__,
        m.TrialUserAttributeModel.__table__,
        m.TrialSystemAttributeModel.__table__,
    )


def utc_now() -> Tuple[datetime.datetime, datetime.datetime]:
    """(naive local now as Optuna's trials carry it, naive UTC as its columns hold it)."""
    now = datetime.datetime.now()
    return now, now.astimezone(datetime.timezone.utc).replace(tzinfo=None)


@contextlib.contextmanager
def autocommit(backend: Any) -> Iterator[Any]:
    """A connection of the storage's pool in autocommit: each statement is its own
    transaction, no ``BEGIN``/``COMMIT`` round trips."""
    with backend.engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def light_rows(conn: Any, study_id: int, top: int, ids: Sequence[int]) -> List[Tuple[Any, ...]]:
    """(trial_id, number, state, parameter count) of the study's trials above ``top`` or in
    ``ids``: one statement over the primary key, however large the study."""
    import sqlalchemy as sa

    _, T, P, *_ = _tables()
    n_params = (
        sa.select(sa.func.count(P.c.param_id)).where(P.c.trial_id == T.c.trial_id).scalar_subquery()
    )
    cond = T.c.trial_id > top
    old = [i for i in ids if i <= top]
    if old:
        cond = sa.or_(cond, T.c.trial_id.in_(old))
    stmt = sa.select(T.c.trial_id, T.c.number, T.c.state, n_params).where(
        cond, T.c.study_id == study_id
    )
    return [tuple(r) for r in conn.execute(stmt).all()]


CREATED_BY = "oo_created_by"  # system attr: the one-off mark of the creation (see create_trial)


def create_trial(
    backend: Any, study_id: int, mark: Optional[str] = None
) -> Tuple[int, int, datetime.datetime, Dict[str, Any]]:
    """A new RUNNING trial, numbered as Optuna numbers it (the trials before it, counted under
    the study row's lock): (trial_id, number, local start). With psycopg 3 the lock, the insert
    and the commit go to the server in one pipeline, so the lock is never held across a round
    trip to a worker that waits for a core (at 128 workers on two cores, backends queued on
    that lock for seconds); otherwise as three statements in a transaction. Returns
    (trial_id, number, local start, system attrs written).

    With the pipeline, ``mark`` (unique per creation) is stored as the system attr
    ``oo_created_by`` in the same transaction: when the connection drops after the commit but
    before the answer, the retry finds the trial it created (:func:`adopt_created`) instead of
    leaving it RUNNING for the reaper."""
    import sqlalchemy as sa
    from optuna.trial import TrialState

    S, T, *_ = _tables()
    local, utc = utc_now()
    with backend.engine.connect() as conn:
        raw = conn.connection.driver_connection
        if hasattr(raw, "pipeline") and hasattr(raw, "transaction"):
            tid, number = _create_pipelined(conn, raw, T.c.state.type.name, study_id, utc, mark)
            return tid, number, local, ({CREATED_BY: mark} if mark else {})
    with backend.engine.begin() as conn:
        locked = conn.execute(
            sa.select(S.c.study_id).where(S.c.study_id == study_id).with_for_update()
        ).first()
        if locked is None:
            raise KeyError(f"study {study_id} not found")
        count = sa.select(sa.func.count(T.c.trial_id)).where(T.c.study_id == study_id)
        stmt = (
            sa.insert(T)
            .from_select(
                ["number", "study_id", "state", "datetime_start"],
                sa.select(
                    count.scalar_subquery(),
                    sa.literal(study_id),
                    sa.literal(TrialState.RUNNING, T.c.state.type),
                    sa.literal(utc, T.c.datetime_start.type),
                ),
            )
            .returning(T.c.trial_id, T.c.number)
        )
        trial_id, number = conn.execute(stmt).one()
    return int(trial_id), int(number), local, {}


def adopt_created(
    backend: Any, study_id: int, mark: str
) -> Optional[Tuple[int, int, datetime.datetime]]:
    """The RUNNING trial of ``study_id`` that :func:`create_trial` made with ``mark`` (its
    answer lost), as (trial_id, number, local start); None if there is none."""
    import sqlalchemy as sa

    from .rdb_rows import _local

    _, T, _, _, _, SA = _tables()
    from optuna.trial import TrialState

    stmt = sa.select(T.c.trial_id, T.c.number, T.c.datetime_start).where(
        T.c.trial_id == SA.c.trial_id,
        T.c.study_id == study_id,
        T.c.state == TrialState.RUNNING,
        SA.c.key == CREATED_BY,
        SA.c.value_json == json.dumps(mark),
    )
    with autocommit(backend) as conn:
        rows = conn.execute(stmt).all()
    if len(rows) != 1:
        return None
    start = _local(rows[0][2])
    assert start is not None
    return int(rows[0][0]), int(rows[0][1]), start


_LOCK = "SELECT study_id FROM studies WHERE study_id = %(sid)s FOR UPDATE"
_INSERT = (
    "INSERT INTO trials (number, study_id, state, datetime_start)"
    " SELECT count(*), %(sid)s, CAST('RUNNING' AS {state}), %(now)s FROM trials"
    " WHERE study_id = %(sid)s"
    " HAVING EXISTS (SELECT 1 FROM studies WHERE study_id = %(sid)s)"
    " RETURNING trial_id, number"
)
_MARKED = (
    "WITH t AS ({insert}), m AS (INSERT INTO trial_system_attributes (trial_id, key, value_json)"
    " SELECT trial_id, %(key)s, %(mark)s FROM t) SELECT trial_id, number FROM t"
)


def _create_pipelined(
    conn: Any, raw: Any, state_type: str, study_id: int, utc: Any, mark: Optional[str]
) -> Any:
    """BEGIN, lock, insert, COMMIT in one psycopg pipeline; psycopg's errors come out as
    SQLAlchemy's (a dropped connection is invalidated: the retry takes a new one)."""
    import sys

    from sqlalchemy import exc as sa_exc

    driver = sys.modules.get(type(raw).__module__.split(".")[0])  # psycopg, not imported here
    error = getattr(driver, "Error", Exception)
    params = {"sid": study_id, "now": utc, "key": CREATED_BY, "mark": json.dumps(mark)}
    sql = _INSERT.format(state=state_type)
    if mark:
        sql = _MARKED.format(insert=sql)
    try:
        with raw.pipeline(), raw.transaction():
            raw.execute(_LOCK, params)
            cur = raw.execute(sql, params)
        row = cur.fetchone()
    except error as e:
        broken = bool(raw.closed or getattr(raw, "broken", False))
        if broken:
            conn.invalidate()
        raise sa_exc.DBAPIError.instance(
            sql, params, e, error, connection_invalidated=broken
        ) from e
    if row is None:
        raise KeyError(f"study {study_id} not found")
    return int(row[0]), int(row[1])


def _finished_error(trial_id: int) -> Exception:
    from optuna.exceptions import UpdateFinishedTrialError

    return UpdateFinishedTrialError(f"trial {trial_id} is already finished and cannot be updated")


def _updatable(T: Any, trial_id: int) -> Any:
    from optuna.trial import TrialState

    return (T.c.trial_id == trial_id) & T.c.state.in_([TrialState.RUNNING, TrialState.WAITING])


def _updatable_any(T: Any, ids: List[int]) -> Any:
    from optuna.trial import TrialState

    return T.c.trial_id.in_(ids) & T.c.state.in_([TrialState.RUNNING, TrialState.WAITING])


def write_params(backend: Any, items: List[Tuple[int, str, float, Any]]) -> None:
    """Insert parameters (trial_id, name, internal value, distribution) of RUNNING/WAITING
    trials in one statement; ``UpdateFinishedTrialError`` when a trial is finished. A
    parameter already stored (a retry after a commit whose answer was lost) is left as it is."""
    import sqlalchemy as sa
    from optuna.distributions import distribution_to_json

    _, T, P, *_ = _tables()
    parts = [
        sa.select(
            sa.literal(trial_id, P.c.trial_id.type),
            sa.literal(name, P.c.param_name.type),
            sa.literal(value, P.c.param_value.type),
            sa.literal(distribution_to_json(dist), P.c.distribution_json.type),
        ).where(_updatable(T, trial_id))
        for trial_id, name, value, dist in items
    ]
    cols = ["trial_id", "param_name", "param_value", "distribution_json"]
    source = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    from sqlalchemy.dialects.postgresql import insert

    # DO NOTHING on a parameter already there: the retry of a write that had committed
    stmt = (
        insert(P)
        .from_select(cols, source)
        .on_conflict_do_nothing(index_elements=["trial_id", "param_name"])
    )
    with autocommit(backend) as conn:
        done = len(conn.execute(stmt.returning(P.c.param_id)).all())
        if done == len(items):
            return
        ids = sorted({i[0] for i in items})
        live = conn.execute(sa.select(sa.func.count()).where(_updatable_any(T, ids))).scalar()
    if live != len(ids):
        raise _finished_error(items[0][0])


def _upsert(table: Any, rows: List[Dict[str, Any]]) -> Any:
    from sqlalchemy.dialects.postgresql import insert

    stmt = insert(table).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=["trial_id", "key"], set_={"value_json": stmt.excluded.value_json}
    )


def finish_trial(
    backend: Any,
    trial_id: int,
    state: Any,
    values: Optional[Sequence[float]],
    attrs: Dict[str, Any],
) -> datetime.datetime:
    """Set user ``attrs``, ``values`` and the finished ``state`` of a RUNNING trial at once:
    one statement (an ``UPDATE .. WHERE state = 'RUNNING' RETURNING`` whose row feeds the
    upsert of the attrs and the insert of the values, all in one transaction);
    ``UpdateFinishedTrialError`` (nothing written) when it is not RUNNING any more. Returns the
    completion time (naive local, as Optuna's trials carry it)."""
    import sqlalchemy as sa
    from optuna.storages._rdb import models

    _, T, _, V, _, _ = _tables()
    local, utc = utc_now()
    params: Dict[str, Any] = {"tid": trial_id, "state": state.name, "now": utc}
    st, vt = T.c.state.type.name, V.c.value_type.type.name  # the enum types' names
    parts = [
        f"WITH upd AS (UPDATE trials SET state = CAST(:state AS {st}), datetime_complete = :now"
        " WHERE trial_id = :tid AND state = 'RUNNING' RETURNING trial_id)"
    ]
    if attrs:
        rows = []
        for i, (k, v) in enumerate(attrs.items()):
            rows.append(f"(CAST(:k{i} AS VARCHAR), CAST(:a{i} AS TEXT))")
            params[f"k{i}"], params[f"a{i}"] = k, json.dumps(v)
        parts.append(
            ", attrs AS (INSERT INTO trial_user_attributes (trial_id, key, value_json)"
            f" SELECT upd.trial_id, a.k, a.v FROM upd, (VALUES {', '.join(rows)}) AS a(k, v)"
            " ON CONFLICT (trial_id, key) DO UPDATE SET value_json = excluded.value_json)"
        )
    if values:
        rows = []
        for i, v in enumerate(values):
            value, kind = models.TrialValueModel.value_to_stored_repr(float(v))
            rows.append(f"({i}, CAST(:v{i} AS DOUBLE PRECISION), CAST(:t{i} AS VARCHAR))")
            params[f"v{i}"], params[f"t{i}"] = value, kind.name
        parts.append(
            ", vals AS (INSERT INTO trial_values (trial_id, objective, value, value_type)"
            f" SELECT upd.trial_id, v.o, v.x, CAST(v.t AS {vt}) FROM upd, (VALUES {', '.join(rows)})"
            " AS v(o, x, t))"
        )
    parts.append(" SELECT trial_id FROM upd")
    with autocommit(backend) as conn:
        won = conn.execute(sa.text("".join(parts)), params).first()
    if won is None:
        raise _finished_error(trial_id)
    return local


def set_system_attr(backend: Any, trial_id: int, key: str, value: Any) -> None:
    """Upsert one system attr of an unfinished trial in one statement (a lease renewal);
    ``UpdateFinishedTrialError`` when the trial is finished."""
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import insert

    _, T, _, _, _, SA = _tables()
    src = sa.select(
        sa.literal(trial_id, SA.c.trial_id.type),
        sa.literal(key, SA.c.key.type),
        sa.literal(json.dumps(value), SA.c.value_json.type),
    ).where(sa.exists().where(_updatable(T, trial_id)))
    stmt = insert(SA).from_select(["trial_id", "key", "value_json"], src)
    stmt = stmt.on_conflict_do_update(
        index_elements=["trial_id", "key"], set_={"value_json": stmt.excluded.value_json}
    )
    with autocommit(backend) as conn:
        if len(conn.execute(stmt.returning(SA.c.trial_id)).all()) != 1:
            raise _finished_error(trial_id)


def tally(rows: List[Tuple[Any, ...]], known_done: Set[int]) -> Dict[str, int]:
    """Counts by state name of ``rows`` (from :func:`light_rows`) not already counted."""
    from optuna.trial import TrialState

    out: Dict[str, int] = {}
    for tid, _, state, _ in rows:
        if tid in known_done:
            continue
        name = state.name if isinstance(state, TrialState) else TrialState[state].name
        out[name] = out.get(name, 0) + 1
    return out
