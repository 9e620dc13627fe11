"""Start moto's server on 127.0.0.1 (with the fidelity layer in front) and seed it."""

from __future__ import annotations

import copy
import copyreg
import dataclasses
import functools
import io
import json
import logging
import os
import socket
import threading
import urllib.request
import weakref
import zipfile
from dataclasses import dataclass
from typing import Any

from esmctl.sandbox.fidelity import FidelityProxy

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
ACCOUNT = "123456789012"  # moto's account


@dataclass
class Sandbox:
    moto: Any
    moto_url: str
    proxy: FidelityProxy | None

    @property
    def url(self) -> str:
        return self.proxy.url if self.proxy else self.moto_url

    def reset(self) -> None:
        _post(self.moto_url + "/moto-api/reset", {})
        # Writing to a mapped source would make moto run the function in Docker.
        _post(self.moto_url + "/moto-api/config", {"lambda": {"use_docker": False}})
        if self.proxy:
            self.proxy.reset()

    def snapshot(self) -> Snapshot:
        """What moto holds now, every service in every account and region, and what the layer holds of the world, to
        `restore` later: a test suite seeds a world once and restores it before each test (~5 ms) instead of seeding
        it again (~60 ms of CPU, 16 calls). moto runs in this process (`start` ran it), so its state is copied, not
        made again over HTTP."""
        from moto.core.base_backend import BackendDict, backend_lock

        with backend_lock:
            services = list(BackendDict._instances)
            held, beside = _copied(({service: dict(service) for service in services},
                                    {service: _beside(service) for service in services}), services, live=False)
        return Snapshot(held, self.proxy.state() if self.proxy else None, beside)

    def restore(self, snapshot: Snapshot) -> None:
        """The sandbox as it was at `snapshot`: moto and the layer reset, then each given a copy of what it held (the
        snapshot stays as it was, for the next restore)."""
        from moto.core.base_backend import BackendDict, backend_lock

        self.reset()
        with backend_lock:
            held, beside = _copied((snapshot.services, snapshot.beside), list(snapshot.services))
            for service, accounts in held.items():
                dict.update(service, accounts)
                vars(service).update(beside.get(service, {}))
                if service not in BackendDict._instances:
                    BackendDict._instances.append(service)
        if self.proxy and snapshot.layer is not None:
            self.proxy.load_state(snapshot.layer)

    def stop(self) -> None:
        # Side by side, each server woken by a connection until it has stopped: a server notices that it should
        # stop when its wait for requests ends, after up to half a second otherwise. Then another may start.
        servers = [self.moto_url] + ([self.proxy.url] if self.proxy else [])
        stopping = [threading.Thread(target=self.moto.stop)] + \
            ([threading.Thread(target=self.proxy.stop)] if self.proxy else [])
        for thread in stopping:
            thread.start()
        while any(thread.is_alive() for thread in stopping):
            for url in servers:
                _wake(url)
            for thread in stopping:
                thread.join(0.02)
        with _starting:
            _running[:] = [box for box in _running if box is not self]
        # The clients seed and account_client keep per URL: their connections led to the servers just stopped
        # (and a sandbox started on the same port later gets clients of its own).
        _account_client.cache_clear()
        _clients.cache_clear()


@dataclass(frozen=True)
class Snapshot:
    """moto's state at `Sandbox.snapshot`: each service's backends (moto's module-level dict, kept as itself) and a
    copy of what it held, account by account; and what the layer held of its mappings and accounts (the kinds moto
    cannot hold, qualified FunctionArns, consumer sources, the keys AssumeRole gave: `FidelityProxy.state`)."""
    services: dict[Any, dict[str, Any]]
    layer: dict[str, Any] | None = None
    # What a service keeps beside its backends, in attributes of its dict (S3: which account owns each bucket name).
    beside: dict[Any, dict[str, Any]] = dataclasses.field(default_factory=dict)


_BACKEND_DICT_S = ("backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id")


def _beside(service: Any) -> dict[str, Any]:
    """The attributes a service's dict has beyond a BackendDict's own (moto's S3: `bucket_accounts`, the bucket
    names of every account, read to find another account's bucket and to refuse a name taken)."""
    return {name: value for name, value in vars(service).items() if name not in _BACKEND_DICT_S}


def _copied(state: Any, services: list[Any], *, live: bool = True) -> Any:
    """A deep copy of moto's state that keeps the services' dicts themselves (moto's modules hold them), gives every
    copy locks and conditions of its own (an SQS queue waits on one; Python's copy refuses them), and fills its
    weak-valued indexes (Lambda's functions by ARN) with the copies: Python's copy of a WeakValueDictionary keeps the
    originals, which die with the state a reset drops.

    moto tracks every model it makes (`instances_tracked`, a class's list), and a reset disposes of them: S3 closes
    the file of every key, its bytes gone. Copies that are not `live` (a snapshot's) are taken off those lists."""
    kinds = [kind for kind in (threading.Condition, type(threading.Lock()), type(threading.RLock()))
             if kind not in copyreg.dispatch_table]
    with _COPYING:
        for kind in kinds:
            copyreg.dispatch_table[kind] = _fresh
        python_s = weakref.WeakValueDictionary.__deepcopy__
        weakref.WeakValueDictionary.__deepcopy__ = _weak_values_copied  # type: ignore[method-assign]
        memo = {id(service): service for service in services}
        try:
            copied = copy.deepcopy(state, memo)
            if not live:
                _untracked(memo)
            return copied
        finally:
            weakref.WeakValueDictionary.__deepcopy__ = python_s  # type: ignore[method-assign]
            for kind in kinds:
                del copyreg.dispatch_table[kind]


def _untracked(memo: dict[int, Any]) -> None:
    from moto.core.model_instances import model_data

    copies = {id(value) for key, value in memo.items() if key != id(memo)}
    for models in list(model_data.values()):
        for model in list(models.values()):
            tracked = getattr(model, "instances_tracked", None)
            if tracked and any(id(instance) in copies for instance in tracked):
                tracked[:] = [instance for instance in tracked if id(instance) not in copies]


def _fresh(lock: Any) -> tuple[type, tuple]:
    return type(lock), ()


def _weak_values_copied(self: weakref.WeakValueDictionary, memo: dict) -> weakref.WeakValueDictionary:
    return type(self)({copy.deepcopy(key, memo): copy.deepcopy(value, memo) for key, value in list(self.items())})


_COPYING = threading.Lock()


def _wake(url: str) -> None:
    host, _, port = url.removeprefix("http://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.1).close()
    except OSError:
        pass  # stopped already


def _post(url: str, body: dict) -> None:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


_running: list[Sandbox] = []  # the sandbox of this process, while it runs (moto's state is one per process)
_starting = threading.Lock()


def start(port: int = 0, *, fidelity: bool = True, **proxy_options: Any) -> Sandbox:
    """moto on 127.0.0.1 (a random port with 0); the fidelity layer takes `port` when enabled. An empty world each
    time: moto keeps its state in this process, so one sandbox runs at a time here (a second would share the first's
    world); `stop` one before starting another, or `reset`/`restore` the one running."""
    from esmctl.errors import EsmctlError

    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise EsmctlError("the sandbox needs moto's server mode: pip install 'esmctl[sandbox]'") from exc
    with _starting:
        if _running:
            raise EsmctlError(f"a sandbox already runs in this process ({_running[0].url}): moto keeps one world per "
                              "process, which a second sandbox would share; stop it first, or reset() or restore() it")
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        _list_moto_modules_once()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0 if fidelity else port, verbose=False)
        moto.start()
        host, moto_port = moto.get_host_and_port()
        moto_url = f"http://{host}:{moto_port}"
        try:  # what an earlier sandbox of this process left goes (and Docker stays off: Sandbox.reset)
            Sandbox(moto, moto_url, None).reset()
        except BaseException:
            moto.stop()
            raise
        sandbox = _with_layer(moto, moto_url, port, fidelity, proxy_options)
        _running.append(sandbox)
        return sandbox


def _with_layer(moto: Any, moto_url: str, port: int, fidelity: bool, proxy_options: dict[str, Any]) -> Sandbox:
    proxy = None
    if fidelity:
        try:
            proxy = FidelityProxy(moto_url, port=port, app=moto._server.app, **proxy_options).start()
        except OSError as exc:
            moto.stop()
            from esmctl.errors import EsmctlError

            raise EsmctlError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pass --port with a free one "
                              "(0 picks one)") from exc
    return Sandbox(moto, moto_url, proxy)


def _list_moto_modules_once() -> None:
    """moto's server finds the service of every request by listing its own package directory (~150 stat calls, a
    quarter of the CPU of seeding a world) unless the host names a module; the listing is the same every time."""
    import moto.backends

    if not getattr(moto.backends.list_of_moto_modules, "listed_once", False):
        modules = tuple(moto.backends.list_of_moto_modules())

        def listed() -> tuple[str, ...]:
            return modules

        listed.listed_once = True  # type: ignore[attr-defined]
        moto.backends.list_of_moto_modules = listed


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {'batchItemFailures': []}\n")
    return buf.getvalue()


def account_client(url: str, service: str, region: str = "us-east-1", account: str | None = None) -> Any:
    """A boto3 client of the sandbox acting in `account` (moto's own account when None): moto reads the
    account from its `x-moto-account-id` header, and so does the AWS-like layer.

    Shared: one per endpoint, service, region, account and AWS_* environment (what else shapes a client: its
    retries, its config file) in the process — a test suite asks for thousands, at ~4 ms of CPU each."""
    return _account_client(url, service, region, account,
                           tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))))


@functools.lru_cache(maxsize=256)
def _account_client(url: str, service: str, region: str, account: str | None, _env: tuple) -> Any:
    import boto3

    client = boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    if account is not None:
        client.meta.events.register("before-send", functools.partial(_in_account, account))
    return client


def _in_account(account: str, request: Any, **_: Any) -> None:
    request.headers["x-moto-account-id"] = account


@functools.lru_cache(maxsize=32)
def _clients(url: str, region: str, account: str | None = None) -> tuple[Any, ...]:
    """The seeding clients, made once per sandbox (a test suite seeds a fresh world for every test)."""
    return tuple(account_client(url, service, region, account)
                 for service in ("iam", "lambda", "kinesis", "dynamodb", "sqs"))


def create_role(url: str, account: str, name: str, external_id: str | list[str] | None = None,
                path: str = "/") -> str:
    """A role in `account` that any principal may assume (with this sts:ExternalId, or one of these, when
    given); its ARN."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    iam = account_client(url, "iam", account=account)
    return iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [statement]}))["Role"]["Arn"]


@dataclass(frozen=True)
class Access:
    """How a user reaches one account of the sandbox: a role to assume (a targets file's `role`), or a profile
    of the AWS config files (its `profile`), with the sts:ExternalIds its trust policy asks for."""

    account: str
    role_arn: str | None = None
    profile: str | None = None
    external_ids: tuple[str, ...] = ()


def seed_accounts(url: str, regions: dict[str, list[str]], access: list[Access]) -> str:
    """Seed each account in its regions (`regions`: account -> regions, in order) as `seed` does moto's own,
    and make the roles `access` names assumable there. A profile becomes a role of its own name in its
    account, assumed with the environment's keys; the text of an AWS config file holding those profiles
    is returned (empty when there are none)."""
    for account, names in regions.items():
        for region in names:
            seed(url, region, account)
    config = []
    for way in access:
        if way.role_arn:
            resource = way.role_arn.split(":", 5)[5].removeprefix("role/")
            path, _, name = resource.rpartition("/")
            create_role(url, way.account, name, list(way.external_ids) or None, f"/{path}/" if path else "/")
        elif way.profile:
            role = create_role(url, way.account, way.profile)
            config.append(f"[profile {way.profile}]\nrole_arn = {role}\ncredential_source = Environment\n")
    return "\n".join(config)


def seed(url: str, region: str = "us-east-1", account: str | None = None) -> dict[str, str]:
    """Example functions, Kinesis streams, a DynamoDB table stream and SQS queues, with some
    records on the streams, items in the table and messages on the `jobs` queue; in `account`
    (moto's own when None), and in several regions of one account if called for each."""
    iam, lam, kinesis, ddb, sqs = _clients(url, region, account)
    try:
        role = iam.create_role(RoleName="esmctl-sandbox-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:  # IAM is global: seeded in another region already
        role = iam.get_role(RoleName="esmctl-sandbox-role")["Role"]["Arn"]
    iam.put_role_policy(RoleName="esmctl-sandbox-role", PolicyName="event-sources", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
            "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard",
            "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
            "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage"]}]}))
    out: dict[str, str] = {}
    for name in ("orders-fn", "audit-fn", "jobs-fn"):
        fn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                                 Code={"ZipFile": _zip()}, Timeout=30)
        out[name] = fn["FunctionArn"]
    for stream, shards in (("orders", 2), ("clicks", 1)):
        kinesis.create_stream(StreamName=stream, ShardCount=shards)
    # one listing for both ARNs (a test suite seeds a world for every test: each call is ~3 ms of CPU)
    arns = {s["StreamName"]: s["StreamARN"] for s in kinesis.list_streams()["StreamSummaries"]}
    for stream in ("orders", "clicks"):
        out[stream] = arns[stream]
    table = ddb.create_table(TableName="orders-table", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    out["orders-table-stream"] = table["TableDescription"]["LatestStreamArn"]
    queue_urls = {}
    in_region = out["orders-fn"].split(":function:")[0].replace(":lambda:", ":sqs:")  # arn:PARTITION:sqs:REGION:ACCOUNT
    for queue in ("jobs", "jobs-dlq", "orders-dlq"):
        queue_urls[queue] = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        out[queue] = f"{in_region}:{queue}"
    _put_records(kinesis, ddb, sqs, queue_urls["jobs"])
    return out


def _put_records(kinesis: Any, ddb: Any, sqs: Any, jobs_url: str) -> None:
    """What a live account's sources hold. Written before any mapping exists: with one, moto
    would hand them to its stand-in function at once (and delete the messages it "processed")."""
    kinds = ("order", "order", "order", "refund")  # examples/mappings.yaml filters orders-fn on type order
    kinesis.put_records(StreamName="orders", Records=[
        {"PartitionKey": f"customer-{i % 7}",
         "Data": json.dumps({"type": kinds[i % 4], "order_id": f"o-{1000 + i}", "amount": 10 + i}).encode()}
        for i in range(12)])
    kinesis.put_records(StreamName="clicks", Records=[
        {"PartitionKey": f"session-{i % 3}", "Data": json.dumps({"page": f"/p/{i}", "ms": 40 + i}).encode()}
        for i in range(6)])
    ddb.batch_write_item(RequestItems={"orders-table": [
        {"PutRequest": {"Item": {"id": {"S": f"o-{1000 + i}"}, "status": {"S": "placed"}}}} for i in range(5)]})
    sqs.send_message_batch(QueueUrl=jobs_url, Entries=[  # at most ten a batch
        {"Id": str(i), "MessageBody": json.dumps({"job": f"j-{i}", "task": "resize-image"})} for i in range(10)])
