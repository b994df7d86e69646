"""
test/helpers/aws_emulator.py: the AWS side of xport's AWS tests, built on moto (a real,
independent AWS emulator), plus TLS fronts to real redis-servers that behave like ElastiCache /
MemoryDB nodes at AUTH time.

1. moto's server (one port, every service), with what moto 5.2.1 lacks added to moto's own
   response classes, so replies are serialised from botocore's service models (AWS's wire format,
   not ours): ElastiCache ModifyUser, user groups, serverless caches and tags on users created
   with tags; MemoryDB users and ACLs (Create/Describe/Update). Endpoints of replication groups,
   serverless caches and MemoryDB clusters that have a front are reported as the front's loopback
   address, so discovery finds something real to connect to.

2. TLS fronts. Each one accepts TLS, connects to a plaintext redis-server and watches the
   client's commands for AUTH <user> <secret>:
     - an IAM-enabled user (moto state): the secret must be a SigV4 presigned token that verifies
       independently of the code under test (botocore recomputes the signature with the secret
       key moto holds for the access key id), not expired, for this front's target (replication
       group / serverless cache / MemoryDB cluster, lower-cased), service, region and user, and
       the user must be in the target's user group / ACL;
     - a password user: the password must be one of the user's passwords in moto *now*;
   then AUTH is forwarded as `AUTH <user> <redis password>`; otherwise as a wrong password, so
   redis itself answers WRONGPASS in order. With `max_auth_age` a connection whose last good AUTH
   was an IAM token older than that is closed (ElastiCache drops IAM connections 12 h after AUTH
   without a re-AUTH; the tests scale that down); a password user's connection is never dropped.

Input: a JSON config on stdin:
  {"static_credentials": {"AKID": "secret"}, "fronts": [{"name", "target", "service",
   "region", "upstream": "127.0.0.1:port", "cert", "key", "redis_password", "max_auth_age"}],
   "endpoints": {"<resource id>": "<front name>"}}
Output (stdout, one JSON object per line): {"ready": true, "port": <moto>, "fronts": {name: port}},
then events {"event": "auth", "front", "user", "kind": "iam"|"password", "ok": bool, "why"?}.
"""

import hashlib
import hmac
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.core.responses import ActionResult, EmptyResult
from moto.elasticache.models import User as EcUser
from moto.elasticache.models import elasticache_backends
from moto.elasticache.responses import ElastiCacheResponse
from moto.iam.models import iam_backends
from moto.memorydb.models import memorydb_backends
from moto.memorydb.responses import MemoryDBResponse
from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends

ACCOUNT = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
LOCK = threading.RLock()
OUT_LOCK = threading.Lock()
FRONT_PORTS = {}  # front name -> port
ENDPOINTS = {}  # resource id -> [front names]


def emit(obj):
    with OUT_LOCK:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def endpoint_for(resource_id, index=0):
    names = ENDPOINTS.get(resource_id) or []
    if not names:
        return None
    name = names[min(index, len(names) - 1)]
    return {"address": "127.0.0.1", "port": FRONT_PORTS[name]}


# ─── ElastiCache add-ons ─────────────────────────────────────────────────────────────────────


def ec_backend(resp):
    return elasticache_backends[resp.current_account][resp.region]


_orig_create_user = ElastiCacheResponse.create_user


def create_user(self):
    result = _orig_create_user(self)
    params = self._get_params()
    tags = params.get("Tags") or []
    user = ec_backend(self).users.get(params.get("UserId"))
    if tags and user is not None:
        ec_backend(self).tagging_service.tag_resource(user.arn, tags)
    return result


def modify_user(self):
    params = self._get_params()
    b = ec_backend(self)
    user = b.users.get(params.get("UserId"))
    if user is None:
        from moto.elasticache.exceptions import UserNotFound

        raise UserNotFound(params.get("UserId"))
    mode = params.get("AuthenticationMode") or {}
    passwords = params.get("Passwords") or mode.get("Passwords")
    if mode.get("Type"):
        user.authentication_type = mode["Type"]
    if passwords:
        user.passwords = list(passwords)
        user.authentication_type = "password"
        user.no_password_required = False
    if params.get("AccessString"):
        user.access_string = params["AccessString"]
    return ActionResult(user)


def _user_groups(b):
    if not hasattr(b, "xport_user_groups"):
        b.xport_user_groups = {}
    return b.xport_user_groups


def _ug_dict(b, g):
    return {
        "UserGroupId": g["id"],
        "Status": "active",
        "Engine": g["engine"],
        "UserIds": list(g["users"]),
        "MinimumEngineVersion": "6.0",
        "ReplicationGroups": [rg.replication_group_id for rg in b.replication_groups.values() if g["id"] in (rg.user_group_ids or [])],
        "ARN": f"arn:aws:elasticache:{b.region_name}:{b.account_id}:usergroup:{g['id']}",
    }


def create_user_group(self):
    params = self._get_params()
    b = ec_backend(self)
    gid = params["UserGroupId"]
    g = {"id": gid, "engine": (params.get("Engine") or "redis").lower(), "users": []}
    _user_groups(b)[gid] = g
    for uid in params.get("UserIds") or []:
        _add_to_group(b, g, uid)
    return ActionResult(_ug_dict(b, g))


def _add_to_group(b, g, uid):
    user = b.users.get(uid)
    if user is None:
        return
    if uid not in g["users"]:
        g["users"].append(uid)
    if g["id"] not in user.user_group_ids:
        user.user_group_ids.append(g["id"])


def describe_user_groups(self):
    params = self._get_params()
    b = ec_backend(self)
    groups = _user_groups(b).values()
    if params.get("UserGroupId"):
        groups = [g for g in groups if g["id"] == params["UserGroupId"]]
    return ActionResult({"UserGroups": [_ug_dict(b, g) for g in groups]})


def modify_user_group(self):
    params = self._get_params()
    b = ec_backend(self)
    g = _user_groups(b)[params["UserGroupId"]]
    for uid in params.get("UserIdsToAdd") or []:
        _add_to_group(b, g, uid)
    for uid in params.get("UserIdsToRemove") or []:
        if uid in g["users"]:
            g["users"].remove(uid)
        user = b.users.get(uid)
        if user is not None and g["id"] in user.user_group_ids:
            user.user_group_ids.remove(g["id"])
    return ActionResult(_ug_dict(b, g))


_orig_describe_rgs = ElastiCacheResponse.describe_replication_groups


def describe_replication_groups(self):
    b = ec_backend(self)
    for rg in b.replication_groups.values():
        ep = endpoint_for(rg.replication_group_id)
        if ep is None:
            continue
        if rg.cluster_enabled:
            rg.configuration_endpoint = dict(ep)
        else:
            for ng in rg.node_groups:
                ng["primary_endpoint"] = dict(ep)
                ng["reader_endpoint"] = dict(endpoint_for(rg.replication_group_id, 1))
                ng["port"] = ep["port"]
    return _orig_describe_rgs(self)


def _serverless(b):
    if not hasattr(b, "xport_serverless"):
        b.xport_serverless = {}
    return b.xport_serverless


def _sl_dict(b, c):
    ep = endpoint_for(c["name"]) or {"address": f"{c['name']}-abc123.serverless.use1.cache.amazonaws.com", "port": 6379}
    return {
        "ServerlessCacheName": c["name"],
        "Description": c.get("description", ""),
        "CreateTime": c["created"],
        "Status": "available",
        "Engine": c["engine"],
        "MajorEngineVersion": c["major"],
        "FullEngineVersion": c["major"] + ".0",
        "UserGroupId": c.get("user_group_id"),
        "Endpoint": {"Address": ep["address"], "Port": ep["port"]},
        "ReaderEndpoint": {"Address": ep["address"], "Port": ep["port"]},
        "ARN": c["arn"],
        "SecurityGroupIds": [],
        "SubnetIds": [],
    }


def create_serverless_cache(self):
    params = self._get_params()
    b = ec_backend(self)
    name = params["ServerlessCacheName"]
    c = {
        "name": name,
        "engine": (params.get("Engine") or "redis").lower(),
        "major": str(params.get("MajorEngineVersion") or "7"),
        "user_group_id": params.get("UserGroupId"),
        "description": params.get("Description") or "",
        "created": datetime.now(timezone.utc),
        "arn": f"arn:aws:elasticache:{b.region_name}:{b.account_id}:serverlesscache:{name}",
    }
    _serverless(b)[name] = c
    tags = params.get("Tags") or []
    if tags:
        b.tagging_service.tag_resource(c["arn"], tags)
    return ActionResult({"ServerlessCache": _sl_dict(b, c)})


def describe_serverless_caches(self):
    params = self._get_params()
    b = ec_backend(self)
    caches = list(_serverless(b).values())
    if params.get("ServerlessCacheName"):
        caches = [c for c in caches if c["name"] == params["ServerlessCacheName"]]
    return ActionResult({"ServerlessCaches": [_sl_dict(b, c) for c in caches]})


def list_tags_for_resource(self):
    arn = self._get_param("ResourceName")
    b = ec_backend(self)
    # moto's ARN check does not know serverless caches; the tagging service does.
    return ActionResult({"TagList": b.tagging_service.list_tags_for_resource(arn)["Tags"]})


ElastiCacheResponse.create_user = create_user
ElastiCacheResponse.modify_user = modify_user
ElastiCacheResponse.create_user_group = create_user_group
ElastiCacheResponse.describe_user_groups = describe_user_groups
ElastiCacheResponse.modify_user_group = modify_user_group
ElastiCacheResponse.describe_replication_groups = describe_replication_groups
ElastiCacheResponse.create_serverless_cache = create_serverless_cache
ElastiCacheResponse.describe_serverless_caches = describe_serverless_caches
ElastiCacheResponse.list_tags_for_resource = list_tags_for_resource


# ─── MemoryDB add-ons ────────────────────────────────────────────────────────────────────────


def mdb_backend(resp):
    return memorydb_backends[resp.current_account][resp.region]


def _mdb_state(b):
    if not hasattr(b, "xport_users"):
        b.xport_users = {}
        b.xport_acls = {"open-access": {"name": "open-access", "users": ["default"]}}
    return b.xport_users, b.xport_acls


def _mdb_user_dict(b, u):
    _, acls = _mdb_state(b)
    return {
        "Name": u["name"],
        "Status": "active",
        "AccessString": u["access"],
        "ACLNames": [a["name"] for a in acls.values() if u["name"] in a["users"]],
        "MinimumEngineVersion": "6.2",
        "Authentication": {"Type": u["type"], **({"PasswordCount": len(u["passwords"])} if u["passwords"] else {})},
        "ARN": u["arn"],
    }


def _mdb_acl_dict(b, a):
    return {
        "Name": a["name"],
        "Status": "active",
        "UserNames": list(a["users"]),
        "MinimumEngineVersion": "6.2",
        "Clusters": [c.cluster_name for c in b.clusters.values() if c.acl_name == a["name"]],
        "ARN": f"arn:aws:memorydb:{b.region_name}:{b.account_id}:acl/{a['name']}",
    }


def mdb_create_user(self):
    p = json.loads(self.body)
    b = mdb_backend(self)
    users, _ = _mdb_state(b)
    mode = p.get("AuthenticationMode") or {}
    u = {
        "name": p["UserName"],
        "access": p.get("AccessString", ""),
        "type": mode.get("Type", "password"),
        "passwords": list(mode.get("Passwords") or []),
        "arn": f"arn:aws:memorydb:{b.region_name}:{b.account_id}:user/{p['UserName']}",
    }
    users[u["name"]] = u
    if p.get("Tags"):
        b.tagger.tag_resource(u["arn"], p["Tags"])
    return ActionResult({"User": _mdb_user_dict(b, u)})


def mdb_describe_users(self):
    p = json.loads(self.body or "{}")
    b = mdb_backend(self)
    users, _ = _mdb_state(b)
    sel = [u for u in users.values() if not p.get("UserName") or u["name"] == p["UserName"]]
    return ActionResult({"Users": [_mdb_user_dict(b, u) for u in sel]})


def mdb_update_user(self):
    p = json.loads(self.body)
    b = mdb_backend(self)
    users, _ = _mdb_state(b)
    u = users[p["UserName"]]
    mode = p.get("AuthenticationMode") or {}
    if mode.get("Type"):
        u["type"] = mode["Type"]
    if mode.get("Passwords") is not None:
        u["passwords"] = list(mode["Passwords"])
    if p.get("AccessString"):
        u["access"] = p["AccessString"]
    return ActionResult({"User": _mdb_user_dict(b, u)})


def mdb_create_acl(self):
    p = json.loads(self.body)
    b = mdb_backend(self)
    _, acls = _mdb_state(b)
    a = {"name": p["ACLName"], "users": list(p.get("UserNames") or [])}
    acls[a["name"]] = a
    return ActionResult({"ACL": _mdb_acl_dict(b, a)})


def mdb_update_acl(self):
    p = json.loads(self.body)
    b = mdb_backend(self)
    _, acls = _mdb_state(b)
    a = acls[p["ACLName"]]
    for n in p.get("UserNamesToAdd") or []:
        if n not in a["users"]:
            a["users"].append(n)
    for n in p.get("UserNamesToRemove") or []:
        if n in a["users"]:
            a["users"].remove(n)
    return ActionResult({"ACL": _mdb_acl_dict(b, a)})


def mdb_describe_acls(self):
    p = json.loads(self.body or "{}")
    b = mdb_backend(self)
    _, acls = _mdb_state(b)
    sel = [a for a in acls.values() if not p.get("ACLName") or a["name"] == p["ACLName"]]
    return ActionResult({"ACLs": [_mdb_acl_dict(b, a) for a in sel]})


_orig_mdb_describe_clusters = MemoryDBResponse.describe_clusters


def mdb_describe_clusters(self):
    b = mdb_backend(self)
    for c in b.clusters.values():
        ep = endpoint_for(c.cluster_name)
        if ep is not None:
            c.cluster_endpoint = {"Address": ep["address"], "Port": ep["port"]}
    return _orig_mdb_describe_clusters(self)


def mdb_list_tags(self):
    p = json.loads(self.body)
    b = mdb_backend(self)
    return ActionResult({"TagList": b.tagger.list_tags_for_resource(p["ResourceArn"])["Tags"]})


MemoryDBResponse.create_user = mdb_create_user
MemoryDBResponse.describe_users = mdb_describe_users
MemoryDBResponse.update_user = mdb_update_user
MemoryDBResponse.create_acl = mdb_create_acl
MemoryDBResponse.update_acl = mdb_update_acl
MemoryDBResponse.describe_ac_ls = mdb_describe_acls
MemoryDBResponse.describe_acls = mdb_describe_acls
MemoryDBResponse.describe_clusters = mdb_describe_clusters
MemoryDBResponse.list_tags = mdb_list_tags


# ─── Resources for moto's IAM policy checks ──────────────────────────────────────────────────
# moto checks actions against resource "*" unless a response class names the resource; Secrets
# Manager policies are scoped to a prefix (`secret:xport/*`), so name the secret being touched.
from moto.secretsmanager.responses import SecretsManagerResponse  # noqa: E402


def sm_determine_resource(self):
    try:
        p = json.loads(self.body or "{}")
    except ValueError:
        return "*"
    sid = p.get("SecretId") or p.get("Name")
    if not sid:
        return "*"
    if sid.startswith("arn:"):
        return sid
    return f"arn:aws:secretsmanager:{self.region}:{self.current_account}:secret:{sid}"


SecretsManagerResponse._determine_resource = sm_determine_resource


# ─── The moto state the fronts judge AUTH against ────────────────────────────────────────────


def lookup_user(front, name):
    """Returns (auth type, passwords, groups of the user, groups of the target) or None."""
    region = front["region"]
    if front["service"] == "memorydb":
        b = memorydb_backends[ACCOUNT][region]
        users, acls = _mdb_state(b)
        u = users.get(name)
        if u is None:
            return None
        cluster = b.clusters.get(front["target"])
        target_groups = [cluster.acl_name] if cluster is not None else []
        user_groups = [a["name"] for a in acls.values() if name in a["users"]]
        return u["type"], list(u["passwords"]), user_groups, target_groups
    b = elasticache_backends[ACCOUNT][region]
    u = b.users.get(name)
    if u is None:
        return None
    target_groups = []
    rg = b.replication_groups.get(front["target"])
    if rg is not None:
        target_groups = list(rg.user_group_ids or [])
    sl = _serverless(b).get(front["target"])
    if sl is not None and sl.get("user_group_id"):
        target_groups = [sl["user_group_id"]]
    auth = "no-password" if u.no_password_required else u.authentication_type
    return auth, list(u.passwords or []), list(u.user_group_ids), target_groups


def secret_for(akid):
    """Returns (secret key, session token or None) for an access key id moto or the config knows."""
    for account in list(iam_backends.values()):
        for part in ("aws",):
            try:
                keys = account[part].access_keys
            except KeyError:
                continue
            k = keys.get(akid)
            if k is not None:
                token = None
                for acct in list(sts_backends.values()):
                    try:
                        for r in acct[part].assumed_roles:
                            if r.access_key_id == akid:
                                token = r.session_token
                    except KeyError:
                        pass
                return k.secret_access_key, token
    s = STATIC.get(akid)
    return (s, None) if s else (None, None)


def verify_token(front, user, token):
    """Checks an IAM auth token independently; returns None when good, else why not."""
    try:
        host, _, query = token.partition("/?")
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if host != front["target"].lower():
            return f"token is for host {host}, not {front['target'].lower()}"
        if q.get("Action") != "connect" or q.get("User") != user:
            return "token is not for this user"
        if front.get("serverless") and q.get("ResourceType") != "ServerlessCache":
            return "serverless token without ResourceType=ServerlessCache"
        akid, day, region, service, term = q["X-Amz-Credential"].split("/")
        if region != front["region"] or service != front["service"] or term != "aws4_request":
            return "wrong credential scope"
        if q.get("X-Amz-SignedHeaders") != "host":
            return "host is not signed"
        when = datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expires = int(q["X-Amz-Expires"])
        if expires > 900:
            return "X-Amz-Expires above 900"
        now = datetime.now(timezone.utc).timestamp()
        if now > when.timestamp() + expires:
            return "token expired"
        if when.timestamp() > now + 300:
            return "token from the future"
        secret, token_expected = secret_for(akid)
        if secret is None:
            return "unknown access key"
        if token_expected is not None and q.get("X-Amz-Security-Token") != token_expected:
            return "wrong session token"
        creds = Credentials(akid, secret, q.get("X-Amz-Security-Token"))
        signer = SigV4QueryAuth(creds, service, region, expires)
        unsigned = [(k, v) for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True) if k != "X-Amz-Signature"]
        url = "http://" + host + "/?" + urllib.parse.urlencode(unsigned, quote_via=urllib.parse.quote)
        req = AWSRequest(method="GET", url=url, headers={"host": host})
        req.context["timestamp"] = q["X-Amz-Date"]
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        want = signer.signature(sts, req)
        if not hmac.compare_digest(want, q.get("X-Amz-Signature", "")):
            return "signature does not verify"
        return None
    except Exception as e:  # a malformed token is just a bad token
        return f"malformed token ({type(e).__name__})"


def targets_of(front):
    return front.get("targets") or [{"target": front["target"], "service": front["service"], "serverless": front.get("serverless", False)}]


def pick_target(front, secret):
    """The target an AUTH is for: for a token, the one its host and scope name; else the first."""
    ts = targets_of(front)
    host, _, query = secret.partition("/?")
    if query:
        scope = dict(urllib.parse.parse_qsl(query)).get("X-Amz-Credential", "").split("/")
        for t in ts:
            if t["target"].lower() == host and len(scope) == 5 and scope[3] == t["service"]:
                return t
    return ts[0]


def judge_auth(front, user, secret):
    """A token is judged for the target it names; a password for whichever target knows the user."""
    if "/?" in secret:
        return judge_one(dict(front, **pick_target(front, secret)), user, secret)
    verdict = None
    for t in targets_of(front):
        verdict = judge_one(dict(front, **t), user, secret)
        if verdict[0] or verdict[2] != "no such user":
            return verdict
    return verdict


def judge_one(t, user, secret):
    with LOCK:
        info = lookup_user(t, user)
    if info is None:
        return False, "password", "no such user"
    auth, passwords, user_groups, target_groups = info
    if not set(user_groups) & set(target_groups):
        return False, auth, "user not in the target's user group / ACL"
    if auth == "iam":
        why = verify_token(t, user, secret)
        return why is None, "iam", why
    if auth == "no-password":
        return True, "password", None
    ok = any(hmac.compare_digest(p, secret) for p in passwords)
    return ok, "password", None if ok else "password does not match the user's passwords in moto"


# ─── RESP watching and the front ─────────────────────────────────────────────────────────────


class RespWatcher:
    """Splits a client byte stream into commands (arrays of bulk strings); inline lines pass as is."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while self.buf:
            if self.buf[:1] != b"*":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    break
                out.append((self.buf[: i + 2], None))
                self.buf = self.buf[i + 2 :]
                continue
            parsed = self._array(self.buf)
            if parsed is None:
                break
            raw_len, args = parsed
            out.append((self.buf[:raw_len], args))
            self.buf = self.buf[raw_len:]
        return out

    @staticmethod
    def _array(b):
        i = b.find(b"\r\n")
        if i < 0:
            return None
        n = int(b[1:i])
        pos = i + 2
        args = []
        for _ in range(max(n, 0)):
            j = b.find(b"\r\n", pos)
            if j < 0 or b[pos : pos + 1] != b"$":
                return None
            ln = int(b[pos + 1 : j])
            start = j + 2
            if len(b) < start + ln + 2:
                return None
            args.append(b[start : start + ln])
            pos = start + ln + 2
        return pos, args


def resp_cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def serve_conn(front, conn):
    try:
        up = socket.create_connection(tuple([front["upstream"].rsplit(":", 1)[0], int(front["upstream"].rsplit(":", 1)[1])]))
    except OSError:
        conn.close()
        return
    watcher = RespWatcher()
    last_auth = [None]
    max_age = front.get("max_auth_age")
    try:
        while True:
            if max_age and last_auth[0] is not None and time.time() - last_auth[0] > max_age:
                emit({"event": "dropped", "front": front["name"], "why": "no re-AUTH within max_auth_age"})
                break
            pending = conn.pending() if hasattr(conn, "pending") else 0
            if pending == 0:
                r, _, _ = select.select([conn, up], [], [], 0.2)
            else:
                r = [conn]
            if conn in r:
                data = conn.recv(65536)
                if not data:
                    break
                out = b""
                for raw, args in watcher.feed(data):
                    if args and args[0].lower() == b"auth" and len(args) == 3:
                        user = args[1].decode("utf-8", "replace")
                        ok, kind, why = judge_auth(front, user, args[2].decode("utf-8", "replace"))
                        akid = dict(urllib.parse.parse_qsl(args[2].decode("utf-8", "replace").partition("/?")[2])).get("X-Amz-Credential", "").split("/")[0]
                        emit({"event": "auth", "front": front["name"], "user": user, "kind": kind, "ok": ok, **({"why": why} if why else {}), **({"akid": akid} if akid else {})})
                        if ok:
                            # Only an IAM-authenticated connection has to re-AUTH in time.
                            last_auth[0] = time.time() if kind == "iam" else None
                            out += resp_cmd("AUTH", user, front["redis_password"])
                        else:
                            out += resp_cmd("AUTH", user, "wrong-" + os.urandom(8).hex())
                    else:
                        out += raw
                if out:
                    up.sendall(out)
            if up in r:
                data = up.recv(65536)
                if not data:
                    break
                conn.sendall(data)
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        for s in (conn, up):
            try:
                s.close()
            except OSError:
                pass


def start_front(front):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(front["cert"], front["key"])
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", front.get("port", 0)))
    lsock.listen(64)
    FRONT_PORTS[front["name"]] = lsock.getsockname()[1]

    def accept_loop():
        while True:
            try:
                raw, _ = lsock.accept()
            except OSError:
                return

            def handshake(raw=raw):
                try:
                    raw.settimeout(10)
                    conn = ctx.wrap_socket(raw, server_side=True)
                    conn.settimeout(None)
                except (OSError, ssl.SSLError):
                    raw.close()
                    return
                serve_conn(front, conn)

            threading.Thread(target=handshake, daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()


STATIC = {}


def main():
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines on stderr
    cfg = json.loads(sys.stdin.readline() or "{}")
    STATIC.update(cfg.get("static_credentials") or {})
    for f in cfg.get("fronts") or []:
        start_front(f)
    for rid, names in (cfg.get("endpoints") or {}).items():
        ENDPOINTS[rid] = names if isinstance(names, list) else [names]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    emit({"ready": True, "port": port, "fronts": FRONT_PORTS})
    try:
        while True:
            line = sys.stdin.readline()
            if not line:
                break
            msg = json.loads(line)
            if msg.get("endpoints"):
                for rid, names in msg["endpoints"].items():
                    ENDPOINTS[rid] = names if isinstance(names, list) else [names]
                emit({"ack": True})
    finally:
        server.stop()


if __name__ == "__main__":
    main()
