"""API key administration (admin scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from channelhub.api.deps import Admin, get_db
from channelhub.api.inputs import Text
from channelhub.api.problems import AUTHENTICATED, errors
from channelhub.apikeys import service
from channelhub.apikeys.service import ApiKey, Scope
from channelhub.core.database import Database

router = APIRouter(tags=["api keys"], responses=AUTHENTICATED)


class ApiKeyIn(BaseModel):
    name: Text = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class ApiKeyOut(BaseModel):
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(description="The key itself; shown once, never stored.")


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(_: ApiKey = Admin, db: Database = Depends(get_db)) -> list[ApiKeyOut]:
    return [_out(k) for k in service.list_keys(db)]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(
    body: ApiKeyIn, _: ApiKey = Admin, db: Database = Depends(get_db)
) -> ApiKeyCreated:
    key, token = service.create_key(db, body.name, [s.value for s in body.scopes])
    return ApiKeyCreated(**_out(key).model_dump(), token=token)


@router.delete("/api-keys/{prefix}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def revoke_api_key(
    prefix: Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,64}$")],
    _: ApiKey = Admin,
    db: Database = Depends(get_db),
) -> None:
    service.revoke_key(db, prefix)
