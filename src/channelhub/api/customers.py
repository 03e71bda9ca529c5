"""Customer identity routes: ingest records, search and read profiles (identifiers, golden
record with sources, merge log), unmerge and merge, match suggestions to confirm or reject,
merge rules, refusals of the blob guards, data-protection export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import AwareDatetime, BaseModel, Field

from channelhub.api.deps import Admin, Reader, Writer, get_db
from channelhub.api.inputs import Text
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys.service import ApiKey
from channelhub.core.database import Database
from channelhub.customers import erasure, order_hook, service
from channelhub.customers.model import Address, CustomerRecord

router = APIRouter(responses=AUTHENTICATED, tags=["customers"])
NOT_FOUND = errors(404)
BOTH = errors(404, 409)

ProfileId = Annotated[int, PathParam(ge=1, le=2**62)]
Short = Annotated[Text, Field(max_length=200)]
Value = Annotated[Text, Field(max_length=320)]


class AddressIn(BaseModel):
    line1: Short = ""
    line2: Short = ""
    postal_code: Annotated[Text, Field(max_length=40)] = ""
    city: Short = ""
    country: Annotated[Text, Field(max_length=2)] = ""


class CustomerRecordIn(BaseModel):
    """What one channel knows of a customer: a sign-up, a loyalty card, an app install."""

    channel: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,99}$")]
    source_ref: Annotated[Text, Field(min_length=1, max_length=200)] = Field(
        description="the channel's key of this record (customer id, order id, card number)"
    )
    email: Value = ""
    email_verified: bool = False
    phone: Annotated[Text, Field(max_length=40)] = ""
    country: Annotated[Text, Field(max_length=2)] = ""
    loyalty_card: Short = ""
    customer_id: Short = ""
    device_id: Short = ""
    marketplace_buyer_id: Short = ""
    first_name: Short = ""
    last_name: Short = ""
    name: Short = ""
    birth_date: Annotated[Text, Field(max_length=10)] = ""
    address: AddressIn = Field(default_factory=AddressIn)
    observed_at: AwareDatetime | None = None

    def to_record(self) -> CustomerRecord:
        data = self.model_dump(exclude={"address", "observed_at"})
        observed = self.observed_at.astimezone(UTC) if self.observed_at else None
        return CustomerRecord(
            **data, address=Address(**self.address.model_dump()), observed_at=observed
        )


class ResolutionOut(BaseModel):
    profile_id: int
    record_id: int
    created: bool
    merged: list[int]
    refused: list[dict[str, Any]]
    suggestions: list[int]


class ProfileOut(BaseModel):
    id: int
    requested_id: int
    redirected: bool
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    merged_ids: list[int]
    golden: dict[str, Any] = Field(description="each field with its value and its source")
    identifiers: list[dict[str, Any]]
    records: list[dict[str, Any]]
    order_ids: list[int]


class ProfileSummaryOut(BaseModel):
    id: int
    golden: dict[str, Any]
    erased: bool


class SuggestionOut(BaseModel):
    id: int
    record_a: int
    record_b: int
    profile_a: int
    profile_b: int
    score: float
    details: dict[str, float]
    status: str
    link_id: int | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class MergeIn(BaseModel):
    profile_a: Annotated[int, Field(ge=1, le=2**62)]
    profile_b: Annotated[int, Field(ge=1, le=2**62)]


class UnmergeOut(BaseModel):
    profiles: list[int]


def _actor(key: ApiKey) -> str:
    return f"api:{key.name}"


@router.post("/customers/records", response_model=ResolutionOut, responses=errors(422))
def ingest_record(
    body: CustomerRecordIn, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> ResolutionOut:
    """Resolve one record to a profile, merging profiles that share a strong identifier."""
    return ResolutionOut(**service.ingest(db, body.to_record()).as_dict())


@router.get("/customers", response_model=list[ProfileSummaryOut])
def search_customers(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    q: Annotated[Text, Query(max_length=320)] = "",
    kind: Annotated[str | None, Query(max_length=30)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ProfileSummaryOut]:
    """Profiles by identifier (e-mail, phone, card, device, ``channel:id``) or name."""
    return [ProfileSummaryOut(**p) for p in service.search_profiles(db, q, kind, after, limit)]


@router.get("/customers/rules", response_model=dict[str, Any])
def get_rules(_: ApiKey = Reader, db: Database = Depends(get_db)) -> dict[str, Any]:
    return service.get_rules(db).as_dict()


@router.put("/customers/rules", response_model=dict[str, Any], responses=errors(422))
def put_rules(
    body: dict[str, Any], _: ApiKey = Admin, db: Database = Depends(get_db)
) -> dict[str, Any]:
    """Replace the merge rules: strong kinds, blocked values and domains, caps, thresholds."""
    return service.set_rules(db, body).as_dict()


@router.get("/customers/suggestions", response_model=list[SuggestionOut], responses=errors(422))
def list_suggestions(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    status: Annotated[str | None, Query(max_length=20)] = "pending",
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SuggestionOut]:
    return [SuggestionOut(**s.__dict__) for s in service.suggestions(db, status, after, limit)]


@router.post(
    "/customers/suggestions/{suggestion_id}/confirm", response_model=SuggestionOut, responses=BOTH
)
def confirm_suggestion(
    suggestion_id: ProfileId, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> SuggestionOut:
    """A person says the pair is the same customer: the profiles merge (logged, undoable)."""
    suggestion = service.decide_suggestion(db, suggestion_id, True, _actor(key))
    return SuggestionOut(**suggestion.__dict__)


@router.post(
    "/customers/suggestions/{suggestion_id}/reject", response_model=SuggestionOut, responses=BOTH
)
def reject_suggestion(
    suggestion_id: ProfileId, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> SuggestionOut:
    suggestion = service.decide_suggestion(db, suggestion_id, False, _actor(key))
    return SuggestionOut(**suggestion.__dict__)


@router.get("/customers/refusals", response_model=list[dict[str, Any]])
def list_refusals(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """What the blob guards refused to merge on, newest first."""
    return service.refusals(db, None, limit)


@router.get("/customers/audit", response_model=list[dict[str, Any]])
def list_audit(
    _: ApiKey = Admin,
    db: Database = Depends(get_db),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Data-protection exports and erasures, newest first."""
    return erasure.audit_log(db, None, limit)


@router.post("/customers/merge", response_model=ProfileSummaryOut, responses=BOTH)
def merge_profiles(
    body: MergeIn, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> ProfileSummaryOut:
    """A person merges two profiles (overriding an earlier unmerge; never the blob guards)."""
    survivor = service.merge(db, body.profile_a, body.profile_b, _actor(key))
    return ProfileSummaryOut(**service.profile_summary(db, survivor))


@router.post("/customers/links/{link_id}/unmerge", response_model=UnmergeOut, responses=BOTH)
def unmerge_link(
    link_id: ProfileId, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> UnmergeOut:
    """Undo one merge of the log; the profiles it leaves."""
    return UnmergeOut(profiles=service.unmerge(db, link_id, _actor(key)))


class SharedValueOut(BaseModel):
    kind: str
    value: str
    status: str
    source: str
    names: int
    records: int
    reason: str
    decided_by: str | None


class SharedValueDecisionIn(BaseModel):
    kind: Literal["email", "phone", "loyalty_card", "device"]
    value: str = Field(min_length=1, max_length=320)
    status: Literal["quarantined", "released", "blocked"]


@router.get("/customers/shared-values", response_model=list[SharedValueOut], responses=errors(422))
def list_shared_values(
    _: ApiKey = Reader,
    db: Database = Depends(get_db),
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SharedValueOut]:
    """Values many different names share (quarantined, released or blocked), most names
    first, with how many names and records hold each."""
    return [SharedValueOut(**v.as_dict()) for v in service.shared_values(db, status, limit)]


@router.post("/customers/shared-values", response_model=SharedValueOut, responses=errors(422))
def decide_shared_value(
    body: SharedValueDecisionIn, key: ApiKey = Writer, db: Database = Depends(get_db)
) -> SharedValueOut:
    """A person releases, blocks or quarantines a value (blocking undoes its merges,
    releasing puts back what a repair undid)."""
    shared = service.decide_shared_value(db, body.kind, body.value, body.status, _actor(key))
    return SharedValueOut(**shared.as_dict())


@router.post("/customers/repair", response_model=dict[str, Any])
def repair_profiles(
    key: ApiKey = Writer, db: Database = Depends(get_db), apply: bool = False
) -> dict[str, Any]:
    """Profiles glued by a quarantined or blocked value: a dry run by default, split through
    the link log with ``apply=true``."""
    return service.repair_profiles(db, apply, _actor(key)).as_dict()


@router.post("/customers/link-orders", response_model=dict[str, int])
def link_orders(_: ApiKey = Writer, db: Database = Depends(get_db)) -> dict[str, int]:
    """Resolve the customers of newly imported orders now (the worker does this too)."""
    return {"events": order_hook.link_all_orders(db)}


@router.get("/customers/{profile_id}", response_model=ProfileOut, responses=NOT_FOUND)
def get_profile(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> ProfileOut:
    """A profile by any id it ever had: merged ids answer with the survivor."""
    return ProfileOut(**service.get_profile(db, profile_id).as_dict())


@router.get(
    "/customers/{profile_id}/merge-log", response_model=list[dict[str, Any]], responses=NOT_FOUND
)
def get_merge_log(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[dict[str, Any]]:
    """Every link and unlink of this profile's records with its reason, oldest first."""
    return service.merge_log(db, profile_id)


@router.get(
    "/customers/{profile_id}/refusals", response_model=list[dict[str, Any]], responses=NOT_FOUND
)
def get_profile_refusals(
    profile_id: ProfileId, _: ApiKey = Reader, db: Database = Depends(get_db)
) -> list[dict[str, Any]]:
    return service.refusals(db, profile_id)


@router.get("/customers/{profile_id}/export", response_model=dict[str, Any], responses=NOT_FOUND)
def export_profile(
    profile_id: ProfileId, key: ApiKey = Admin, db: Database = Depends(get_db)
) -> dict[str, Any]:
    """All data of the person as JSON (data-protection access request); audited."""
    return erasure.export_profile(db, profile_id, _actor(key))


@router.post("/customers/{profile_id}/erase", response_model=dict[str, Any], responses=NOT_FOUND)
def erase_profile(
    profile_id: ProfileId, key: ApiKey = Admin, db: Database = Depends(get_db)
) -> dict[str, Any]:
    """Erase the person: identifiers and personal fields gone, orders kept anonymised."""
    return erasure.erase_profile(db, profile_id, _actor(key))
