"""Accounts as AWS has them: who a request acts for, and STS AssumeRole into another account's role."""

from __future__ import annotations

import json
import re
import urllib.parse
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

from esmctl.sandbox.upstream import Upstream

DEFAULT_ACCOUNT = "123456789012"  # moto's, for keys it did not issue through AssumeRole
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d+/([^/]+)/")  # SigV4: key/date/region/service
_STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def _sts_error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error><RequestId>0</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body.encode()


def _external_ids(trust: dict) -> set[str]:
    """The sts:ExternalId values a trust policy's StringEquals conditions ask for (empty: none asked)."""
    statements = trust.get("Statement", [])
    out: set[str] = set()
    for st in statements if isinstance(statements, list) else [statements]:
        wanted = ((st or {}).get("Condition") or {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted:
            out.update([wanted] if isinstance(wanted, str) else wanted)
    return out


class Accounts(Upstream):
    """The account and region a request acts in, and AssumeRole refused as AWS refuses it. The keys
    AssumeRole issued (`_key_accounts`) are FidelityProxy's state, reset with it."""

    def scope(self, headers: dict[str, str]) -> tuple[str, str]:
        """(account, region) a request acts in: moto's `x-moto-account-id` header, else the account of the
        role its access key was issued for (AssumeRole replies pass through here), else moto's default
        account; the region of its SigV4 credential scope."""
        lower = {k.lower(): v for k, v in headers.items()}
        found = _CREDENTIAL_SCOPE.search(lower.get("authorization", ""))
        key, region = found.groups() if found else ("", "us-east-1")
        if lower.get("x-moto-account-id"):
            return lower["x-moto-account-id"], region
        with self._lock:
            return self._key_accounts.get(key, DEFAULT_ACCOUNT), region

    @staticmethod
    def _in_scope(m: dict, scope: tuple[str, str]) -> bool:
        parts = (m.get("EventSourceMappingArn") or "").split(":")
        return len(parts) < 6 or (parts[4], parts[3]) == scope

    def _assume_role(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        """AssumeRole (and AssumeRoleWithWebIdentity, as CI uses it) as AWS answers it: refused unless the role
        exists in its account (moto would hand out keys for any ARN) and its trust policy's sts:ExternalId,
        if any, is the one sent. The keys it gives act in the role's account; the layer remembers which, for
        its per-account state."""
        form = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
        role_arn = form.get("RoleArn", "")
        parts = role_arn.split(":")
        account, name = (parts[4], parts[5].rsplit("/", 1)[-1]) if len(parts) == 6 else ("", "")
        trust = self._role_trust(account, name) if account else None
        wanted = _external_ids(trust) if trust is not None else set()
        if trust is None or (wanted and form.get("ExternalId") not in wanted):
            caller = self.scope(headers)[0]
            return _sts_error(403, "AccessDenied", f"User: arn:aws:iam::{caller}:user/moto is not authorized to "
                                                   f"perform: sts:AssumeRole on resource: {role_arn}")
        status, reply_headers, data = self._forward(method, path, body, headers)
        if status < 300:
            try:
                creds = ElementTree.fromstring(data).find(f".//{_STS_NS}Credentials")
                key = creds.findtext(f"{_STS_NS}AccessKeyId") if creds is not None else None
            except ElementTree.ParseError:
                key = None
            if key:
                with self._lock:
                    self._key_accounts[key] = account
        return status, reply_headers, data

    @staticmethod
    def _as_layer(account: str, region: str, service: str, content_type: str, target: str = "") -> dict[str, str]:
        """Headers of the layer's own request to moto's `service` in `account` and `region` (moto reads the
        service and region from the signature's scope, the account from x-moto-account-id)."""
        return {"x-moto-account-id": account, "Content-Type": content_type,
                **({"X-Amz-Target": target} if target else {}),
                "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIAFIDELITYLAYER000/20240101/{region}/{service}/"
                                 "aws4_request, SignedHeaders=host, Signature=0"}

    def _role_trust(self, account: str, name: str) -> dict | None:
        """The role's trust policy (None: no such role in that account), from moto's IAM in that account."""
        query = urllib.parse.urlencode({"Action": "GetRole", "RoleName": name, "Version": "2010-05-08"}).encode()
        status, _, data = self._forward("POST", "/", query, self._as_layer(account, "us-east-1", "iam",
                                                                           "application/x-www-form-urlencoded"))
        if status != 200:
            return None
        try:
            document = ElementTree.fromstring(data).findtext(".//{*}AssumeRolePolicyDocument") or "{}"
            return json.loads(urllib.parse.unquote(document))
        except (ElementTree.ParseError, ValueError):
            return {}
