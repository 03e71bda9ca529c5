"""Request dependencies: the database and the caller's API key with its scope checked."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from channelhub.apikeys.service import ApiKey, Scope, authenticate, require
from channelhub.core.database import Database
from channelhub.core.errors import Unauthenticated
from channelhub.core.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer chk_...")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or X-API-Key: chk_...")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _caller(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
    header: str | None = Security(_header),
) -> ApiKey:
    token = bearer.credentials if bearer else header
    if not token:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>' or 'X-API-Key'")
    if len(token) > 200 or not token.isascii() or not token.isprintable():
        raise Unauthenticated("the API key is malformed")
    return authenticate(get_db(request), token)


def scope(needed: Scope) -> Callable[..., ApiKey]:
    """A dependency that admits callers whose key covers ``needed``."""

    def check(key: ApiKey = Depends(_caller)) -> ApiKey:
        require(key, needed)
        return key

    return check


Reader = Depends(scope(Scope.READ))
Writer = Depends(scope(Scope.WRITE))
Admin = Depends(scope(Scope.ADMIN))


def metrics_reader(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
    header: str | None = Security(_header),
) -> ApiKey | None:
    """A key with the read scope for ``/metrics``, unless CHANNELHUB_METRICS_PUBLIC is set."""
    if get_settings().metrics_public:
        return None
    key = _caller(request, bearer, header)
    require(key, Scope.READ)
    return key
