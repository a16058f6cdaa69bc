"""Schema drift: new keys, keys left out, empty nested objects.

The contract's tolerances say keys "may be missing, null, or new" and nested objects may be null.
With `schema_drift` above 0, that share of the successful answers (drawn per day, site, endpoint,
code and page, so the same request drifts the same way every time) is rewritten on the way out:

- new keys at every level: the envelope; the metadata, ahead of the total; each vehicle, ahead of
  `vin`; inside `price`; a new nested object and a new list on each vehicle, and a list of
  related vehicles whose entries carry a `vin` of their own; each model-year code; the locator's
  envelope, each dealer and its `departments`;
- keys the sites send as null are left out (`trimDesc`, `incentives`, `attributes`);
- a null `price` comes as `{}`; and, beyond the contract, a null `mackevisionData` as `[]`, as
  servers that write an empty map as a list do.

None of it changes the data: a client that reads the keys it declares gets the ground truth.
"""

from __future__ import annotations

from standin.stellantis.sites.hashing import MODULUS, uniform
from standin.stellantis.sites.protocol import Response

_SALT = 97
_ENVELOPE = (
    b'"result":"SUCCESS","errors":[],',
    b'"result":"SUCCESS","errors":[],"requestId":"a1",',
)

REWRITES: dict[str, tuple[tuple[bytes, bytes], ...]] = {
    "inventory": (
        _ENVELOPE,
        (b'"metadata":{', b'"metadata":{"sortBy":"distance",'),
        (b'{"vin":"', b'{"listingType":"NEW","vin":"'),
        (b',"price":{', b',"price":{"currency":"USD",'),
        (b',"price":null', b',"price":{}'),
        (b',"trimDesc":null', b""),
        (b',"incentives":null', b""),
        (b',"attributes":null', b""),
        (b',"mackevisionData":null', b',"mackevisionData":[]'),
        (
            b',"inventoryStatus":',
            b',"warranty":{"basicMonths":36,"powertrainMonths":60,"roadside":true},'
            b'"badges":["Great Deal"],'
            b'"similarVehicles":[{"distance":2.5,"vin":"1C4SIMILAR0000001"}],"inventoryStatus":',
        ),
    ),
    "filters": (
        _ENVELOPE,
        (b'{"code":"', b'{"family":"SUV","code":"'),
    ),
    "dealers": (
        (b'{"status":"SUCCESS",', b'{"status":"SUCCESS","version":"3.1",'),
        (b'{"dealerCode":"', b'{"dealerType":"SALES","dealerCode":"'),
        (b'"departments":{', b'"departments":{"collision":{"phone":null},'),
    ),
}
"""What each endpoint's drifted answer changes, applied in order to the whole body."""

_ENDPOINT_IDS = {name: i for i, name in enumerate(REWRITES)}


def drifts(
    share: float, seed: int, day: int, site: int, endpoint: str, code: str | None, page: int
) -> bool:
    """Whether this request's answer drifts: a stable draw against `share`."""
    if share <= 0:
        return False
    code_id = int.from_bytes((code or "").encode(), "big") % MODULUS
    return uniform(seed, _SALT, day, site, _ENDPOINT_IDS[endpoint], code_id, page) < share


def succeeded(response: Response) -> bool:
    """A contract answer that says SUCCESS: failures and error pages never drift."""
    head = response.body[:40]
    return response.status == 200 and (
        b'"result":"SUCCESS"' in head or head.startswith(b'{"status":"SUCCESS"')
    )


def drifted(endpoint: str, response: Response) -> Response:
    """The same answer with the endpoint's rewrites applied to its body."""
    body = response.body
    for old, new in REWRITES[endpoint]:
        body = body.replace(old, new)
    return Response(response.status, body, response.content_type, response.headers)
