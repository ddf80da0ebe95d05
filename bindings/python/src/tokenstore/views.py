"""Records read from a store, copied out of the library's views into frozen dataclasses."""
import ctypes
from dataclasses import dataclass
from enum import IntEnum
from typing import Iterator, Optional, Tuple, Type, TypeVar, Union

from .enums import Authorization, BounceCategory, BounceOutcome, ChangeKind, Platform, Subscription

__all__ = ["Token", "Change", "User", "Bounce", "Stats"]

E = TypeVar("E", bound=IntEnum)


def _member(enum: Type[E], value: int) -> Union[E, int]:
    """value as a member of enum, or the bare int for a value newer than this binding."""
    try:
        return enum(value)
    except ValueError:
        return value


def _text(pointer: Optional[int], length: int) -> str:
    # A view's strings are never NULL; an empty one may point anywhere, so it is not read.
    if not length or pointer is None:
        return ""
    return ctypes.string_at(pointer, length).decode("utf-8")


@dataclass(frozen=True)
class Token:
    """A key's token record: (device_id, app_id) holds token, owned by user_id (None: anonymous)."""

    device_id: str
    app_id: str
    token: str
    user_id: Optional[str]
    platform: Platform
    authorization: Authorization
    created_at_ms: int
    updated_at_ms: int
    quarantined: bool

    @classmethod
    def _from_view(cls, view: "ctypes.Structure") -> "Token":
        return cls(
            device_id=_text(view.device_id, view.device_id_len),
            app_id=_text(view.app_id, view.app_id_len),
            token=_text(view.token, view.token_len),
            user_id=_text(view.user_id, view.user_id_len) or None,
            platform=_member(Platform, view.platform),  # type: ignore[arg-type]
            authorization=_member(Authorization, view.authorization),  # type: ignore[arg-type]
            created_at_ms=view.created_at_ms,
            updated_at_ms=view.updated_at_ms,
            quarantined=bool(view.quarantined),
        )


@dataclass(frozen=True)
class Change:
    """A changelog entry of one user, at at_ms; other_user_id is the other side of a move."""

    at_ms: int
    kind: ChangeKind
    device_id: str
    app_id: str
    token: str
    other_user_id: Optional[str]
    detail: Optional[str]

    @classmethod
    def _from_view(cls, view: "ctypes.Structure") -> "Change":
        return cls(
            at_ms=view.at_ms,
            kind=_member(ChangeKind, view.kind),  # type: ignore[arg-type]
            device_id=_text(view.device_id, view.device_id_len),
            app_id=_text(view.app_id, view.app_id_len),
            token=_text(view.token, view.token_len),
            other_user_id=_text(view.other_user_id, view.other_user_id_len) or None,
            detail=_text(view.detail, view.detail_len) or None,
        )


@dataclass(frozen=True)
class User:
    """A user's subscription state and when they last opted in or unsubscribed (0: never)."""

    user_id: str
    subscription: Subscription
    opted_in_at_ms: int
    unsubscribed_at_ms: int


@dataclass(frozen=True)
class Bounce:
    """What a provider rejection did (outcome) and how its error code was classified."""

    outcome: BounceOutcome
    category: BounceCategory

    def __iter__(self) -> Iterator[int]:
        """Unpacks as (outcome, category)."""
        return iter((self.outcome, self.category))


@dataclass(frozen=True)
class Stats:
    """Counts over the store; the per-enum tuples are indexed by the enum's value (0 unused)."""

    tokens: int
    users: int
    quarantined: int
    by_platform: Tuple[int, ...]
    by_authorization: Tuple[int, ...]
    bounces_by_outcome: Tuple[int, ...]
    bounces_by_category: Tuple[int, ...]
