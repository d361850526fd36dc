"""Static checks of the compose stack: docker-compose.yaml, Dockerfile, .env.example, deploy/.

There is no Docker engine where these tests run, so nothing here calls `docker` (even when the CLI
is installed): the files are parsed and checked against each other, against the lock and against
the code that uses the services.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
LOCK = ROOT / "requirements.txt"
ACL_TEMPLATE = ROOT / "deploy" / "redis-cache" / "users.acl.template"
ACL_ENTRYPOINT = ROOT / "deploy" / "redis-cache" / "entrypoint.sh"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init.sql"
CACHE_MEMORY_CONF = ROOT / "deploy" / "redis-cache" / "memory.conf"
REDIS_LOCAL = ROOT / "scripts" / "redis-local.sh"

#: Each Airflow service and the Airflow 3 command it runs through the image's `airflow` entrypoint.
AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
AIRFLOW_SERVICES = [*AIRFLOW_COMMANDS, "airflow-init"]
SERVICES = ["postgres", "redis", "redis-cache", "object-store", "mlflow", *AIRFLOW_SERVICES]
IMAGE_SERVICES = [*AIRFLOW_SERVICES, "mlflow"]
HEALTHCHECKED = [
    "postgres", "redis", "redis-cache", "object-store", "mlflow", "airflow-apiserver", "airflow-scheduler",
]  # fmt: skip
SECRET_KEY_WORDS = ("PASSWORD", "SECRET", "KEY", "TOKEN")
#: What include/fti/cache/predictions.py sends as the publisher (begin_run, write_chunk, go_live, prune).
PUBLISHER_COMMANDS = {
    "ping", "get", "set", "exists", "hget", "hmget", "hset", "hgetall", "expire", "persist", "unlink",
    "scan", "lpush", "lrem", "lrange", "eval", "evalsha", "function|load", "info",
}  # fmt: skip
#: Commands that cannot change data nor run Lua the caller wrote (FCALL_RO runs only the functions
#: the writer loaded): the most the read-only cache user may be granted.
READ_ONLY_COMMANDS = {
    "ping", "get", "mget", "hget", "hmget", "hgetall", "exists", "ttl", "pttl", "type",
    "fcall_ro", "client|setinfo",
}  # fmt: skip
#: The most the publisher's user may be granted: what it sends and reads.
WRITER_MAY = PUBLISHER_COMMANDS | READ_ONLY_COMMANDS
#: user:password@host[:port][/path] in a URL; a ${VAR...} password may hold spaces (its :? message).
URL_CREDENTIALS = re.compile(
    r"://(?P<user>[^/\s:@]*):(?P<password>\$\{[^}]*\}|[^@\s/]+)@(?P<host>[^/\s:]+)(:\d+)?(/(?P<path>[\w.-]*))?"
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yaml with YAML merge keys (`<<`) resolved, as Compose resolves them."""
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever of Compose's two forms it is written in."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def strings(node: Any) -> list[str]:
    """Every string (keys included) in a parsed YAML tree: what Compose interpolates."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [*strings(k), *strings(v)]]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def variables(text: str) -> set[str]:
    """Names of the variables Compose substitutes in ``text`` (``$$`` is a literal dollar)."""
    text = text.replace("$$", "")
    return set(re.findall(r"\$\{([A-Za-z_]\w*)", text)) | set(re.findall(r"\$([A-Za-z_]\w*)", text))


def command_line(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def lock_pin(name: str) -> str | None:
    found = re.search(rf"^{re.escape(name)}==(\S+)$", LOCK.read_text(), re.MULTILINE)
    return found.group(1) if found else None


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip().startswith("#"):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            if current.strip():
                logical.append(current.strip())
            current = ""
    return [(ins.split(None, 1)[0].upper(), ins.split(None, 1)[1] if " " in ins else "") for ins in logical]


def acl_users() -> dict[str, list[str]]:
    """The rules of each user of the cache's ACL template (comment lines are dropped at render)."""
    users = {}
    for line in ACL_TEMPLATE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            keyword, name, *rules = line.split()
            assert keyword == "user", f"ACL line does not start with `user`: {line!r}"
            users[name] = rules
    return users


def granted(rules: list[str]) -> set[str]:
    return {r[1:].lower() for r in rules if r.startswith("+")} | (
        {"@all"} if "allcommands" in rules else set()
    )


def key_patterns(rules: list[str]) -> set[str]:
    patterns = {re.sub(r"^%R?W?~|^~", "", r) for r in rules if r.startswith(("~", "%"))}
    return patterns | ({"*"} if "allkeys" in rules else set())


def test_every_service_of_the_stack_is_defined(services: dict[str, Any]) -> None:
    missing = [name for name in SERVICES if name not in services]
    assert not missing, f"docker-compose.yaml lacks the services {missing}"


def test_airflow_services_and_mlflow_run_one_image_built_from_the_dockerfile(
    services: dict[str, Any],
) -> None:
    images = {name: services[name].get("image") for name in IMAGE_SERVICES}
    assert len(set(images.values())) == 1 and None not in images.values(), f"images differ: {images}"
    for name in IMAGE_SERVICES:
        build = services[name].get("build")
        assert isinstance(build, dict), f"{name} is not built from ./Dockerfile: build={build!r}"
        assert (
            ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        ).resolve() == DOCKERFILE


def test_dockerfile_python_minor_version_matches_the_lock() -> None:
    base = next(args for ins, args in dockerfile_instructions() if ins == "FROM")
    found = re.match(r"python:(\d+\.\d+)[.-]", base)
    assert found, f"the image is not built FROM an official python:X.Y image: {base!r}"
    locked = re.search(r"--python-version (\d+\.\d+)", (ROOT / "Makefile").read_text())
    assert locked, "the Makefile's lock target does not say which Python the lock is for"
    assert found.group(1) == locked.group(1), f"image Python {found.group(1)}, lock for {locked.group(1)}"


def test_dockerfile_installs_the_lock_byte_compiled_with_the_pinned_uv() -> None:
    runs = [args for ins, args in dockerfile_instructions() if ins == "RUN"]
    copies = [args for ins, args in dockerfile_instructions() if ins == "COPY"]
    assert any("requirements.txt" in c.split() for c in copies), "requirements.txt is never copied in"
    sync = [r for r in runs if re.search(r"uv pip (sync|install -r) [^&]*requirements\.txt", r)]
    assert sync, "no RUN installs requirements.txt with uv"
    assert all("--compile-bytecode" in r for r in sync), (
        f"the lock is installed without --compile-bytecode: {sync}"
    )
    uv = lock_pin("uv")
    assert uv, "requirements.txt does not pin uv"
    literal = any(f"uv=={uv}" in r for r in runs)
    from_lock = any(
        "s/^uv==//p' requirements.txt" in r and re.search(r"uv==\$\{?UV_VERSION", r) for r in runs
    )
    assert literal or from_lock, f"uv is not installed at the lock's version {uv}"


def test_dockerfile_installs_the_project_without_its_dependencies() -> None:
    runs = [args for ins, args in dockerfile_instructions() if ins == "RUN"]
    assert any(re.search(r"pip install [^&]*--no-deps[^&]*-e \.", r) for r in runs), (
        "the project is not installed with `pip install --no-deps -e .` (its dependencies come from the lock)"
    )


def test_dockerfile_copies_the_project_runs_as_airflow_and_enters_airflow() -> None:
    instructions = dockerfile_instructions()
    copied = {src for ins, args in instructions if ins == "COPY" for src in args.split()[:-1]}
    for needed in ("dags/", "plugins/", "include/", "scripts/", "airflow_settings.yaml"):
        assert needed in copied, f"the image does not COPY {needed}"
    text = " ".join(args for _, args in instructions)
    assert re.search(r"AIRFLOW_HOME=/opt/airflow\b", text), "AIRFLOW_HOME is not /opt/airflow"
    useradd = re.search(r"useradd --uid \"?\$\{AIRFLOW_UID\}\"?.* airflow\b", text)
    assert useradd and "AIRFLOW_UID=50000" in text, "the image has no user `airflow` with uid 50000"
    user = [args for ins, args in instructions if ins == "USER"]
    assert user and user[-1] in {"airflow", "50000", "${AIRFLOW_UID}"}, f"the image runs as {user or 'root'}"
    entrypoint = [args for ins, args in instructions if ins == "ENTRYPOINT"]
    assert entrypoint and yaml.safe_load(entrypoint[-1])[-1] == "airflow", f"ENTRYPOINT is {entrypoint}"


def test_lock_pins_airflow_3() -> None:
    version = lock_pin("apache-airflow")
    assert version and version.split(".")[0] == "3", f"requirements.txt pins apache-airflow=={version}"


def test_airflow_services_run_airflow_3_commands_through_the_image_entrypoint(
    services: dict[str, Any],
) -> None:
    for name, expected in AIRFLOW_COMMANDS.items():
        assert "entrypoint" not in services[name], f"{name} overrides the image's `airflow` entrypoint"
        assert command_line(services[name]) == expected, f"{name} runs {command_line(services[name])!r}"


def test_lock_has_the_celery_provider_that_the_celery_executor_needs(services: dict[str, Any]) -> None:
    assert environment(services["airflow-scheduler"])["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert lock_pin("apache-airflow-providers-celery"), (
        "CeleryExecutor without apache-airflow-providers-celery"
    )


def test_airflow_init_migrates_the_db_and_loads_only_pools_and_variables(services: dict[str, Any]) -> None:
    script = command_line(services["airflow-init"])
    assert "airflow db migrate" in script
    assert "scripts/load_airflow_settings.py" in script
    assert 'pop("connections"' in script, (
        "airflow-init would import the local Connections of airflow_settings"
    )


def test_every_airflow_service_shares_the_common_environment_and_volumes(compose: dict[str, Any]) -> None:
    common = compose["x-airflow-common"]
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        env = environment(service)
        differs = {k for k, v in environment(common).items() if env.get(k) != v}
        assert not differs, f"{name} lacks or changes the common settings {sorted(differs)}"
        assert set(common["volumes"]) <= set(service.get("volumes", [])), f"{name} lacks the common volumes"


def test_airflow_talks_to_the_compose_services(services: dict[str, Any]) -> None:
    env = environment(services["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    ports = services["airflow-apiserver"].get("ports", [])
    assert any(p.endswith(":8080") for p in ports), f"the api-server publishes {ports}, not :8080"
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert env.get(key), f"{key} is not set"


def test_fti_settings_point_at_the_object_store_the_shared_volume_and_the_services(
    services: dict[str, Any],
) -> None:
    from fti.settings import Settings

    env = environment(services["airflow-worker"])
    fti_keys = {k for k in env if k.startswith("FTI_")}
    cli_options = set(
        re.findall(r'envvar="(FTI_\w+)"', (ROOT / "include" / "fti" / "cli" / "common.py").read_text())
    )
    unknown = {
        k
        for k in fti_keys
        if k.removeprefix("FTI_").lower() not in Settings.model_fields and k not in cli_options
    }
    assert not unknown, f"no fti setting is called {sorted(unknown)}"
    assert env["FTI_STORE_URI"] == "s3://fti-store/store" and env["FTI_RAW_DIR"] == "/data/raw"
    assert env["FTI_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert env["FTI_MLFLOW_ARTIFACT_URI"] == "mlflow-artifacts:/"  # uploads go through the server
    assert re.match(
        r"postgresql\+psycopg2://feature_catalog:.+@postgres:5432/feature_catalog$", env["FTI_CATALOG_URL"]
    )
    for name in AIRFLOW_SERVICES:
        assert "fti-data:/data" in services[name].get("volumes", []), (
            f"{name} does not mount fti-data at /data"
        )


def test_the_store_and_mlflow_artifacts_live_in_the_object_stores_buckets(services: dict[str, Any]) -> None:
    store = services["object-store"]
    assert str(store["image"]).startswith("minio/minio:RELEASE."), "pin a MinIO release"
    assert "object-store-data:/data" in store["volumes"]
    for name in ["mlflow", *AIRFLOW_SERVICES]:
        env = environment(services[name])
        assert env["AWS_ENDPOINT_URL_S3"] == "http://object-store:9000", name
        assert env["AWS_ACCESS_KEY_ID"] == environment(store)["MINIO_ROOT_USER"], name
        assert env["AWS_SECRET_ACCESS_KEY"] == environment(store)["MINIO_ROOT_PASSWORD"], name
        assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://fti-mlflow/artifacts", name
    mlflow = services["mlflow"]
    assert "--serve-artifacts" in mlflow["command"]
    assert not [a for a in mlflow["command"] if a.startswith("--artifacts-destination")], (
        "the destination is MLFLOW_ARTIFACTS_DESTINATION, one value for mlflow and airflow-init"
    )
    assert not mlflow.get("volumes"), "MLflow keeps nothing on a local volume"
    assert lock_pin("boto3"), "mlflow server needs boto3 for an s3:// artifact destination"


def test_airflow_init_creates_both_buckets_before_anything_writes(services: dict[str, Any]) -> None:
    init = command_line(services["airflow-init"])
    assert 'fti features create-buckets "$${FTI_STORE_URI}" "$${MLFLOW_ARTIFACTS_DESTINATION}"' in init
    assert init.index("create-buckets") < init.index("airflow db migrate")
    for name in ("mlflow", "airflow-scheduler", "airflow-worker"):
        depends = services[name]["depends_on"]
        assert depends["object-store"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_redis_connection_logs_in_as_the_cache_writer(services: dict[str, Any]) -> None:
    wiring = (ROOT / "include" / "fti_airflow" / "wiring.py").read_text()  # the DAGs' shared glue
    conn_id = re.search(r'REDIS_CONN_ID = "(\w+)"', wiring)
    assert conn_id, "include/fti_airflow/wiring.py no longer names the Redis connection in REDIS_CONN_ID"
    url = environment(services["airflow-worker"]).get(f"AIRFLOW_CONN_{conn_id.group(1).upper()}", "")
    found = URL_CREDENTIALS.search(url)
    assert found and url.startswith("redis://"), f"connection {conn_id.group(1)} is {url!r}"
    assert (found["user"], found["host"]) == ("fti_writer", "redis-cache") and "fti_writer" in acl_users()


def test_the_control_room_connection_logs_in_as_the_cache_reader(services: dict[str, Any]) -> None:
    plugin = (ROOT / "plugins" / "fti_plugin.py").read_text()
    conn_id = re.search(r'REDIS_READER_CONN_ID = "(\w+)"', plugin)
    assert conn_id, "plugins/fti_plugin.py no longer names the control room's Redis connection"
    url = environment(services["airflow-apiserver"]).get(f"AIRFLOW_CONN_{conn_id.group(1).upper()}", "")
    found = URL_CREDENTIALS.search(url)
    assert found and url.startswith("redis://"), f"connection {conn_id.group(1)} is {url!r}"
    assert (found["user"], found["host"]) == ("fti_reader", "redis-cache") and "fti_reader" in acl_users()


def test_the_cache_answers_busy_after_one_second_of_a_script(services: dict[str, Any]) -> None:
    command = services["redis-cache"]["command"]
    assert "--busy-reply-threshold" in command, f"redis-cache runs {command}"
    assert command[command.index("--busy-reply-threshold") + 1] == "1000"


def test_no_secret_is_written_inline(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            # A *_FILE setting names the file a secret is kept in, not the secret.
            if any(word in key.upper() for word in SECRET_KEY_WORDS) and not key.endswith("_FILE"):
                assert "${" in value, f"{name}: {key} holds a literal value instead of a ${{VAR}} from .env"
                assert not re.search(r"\$\{\w+:?-[^}]", value), (
                    f"{name}: {key} falls back to a literal default"
                )
    for text in strings(compose):
        for found in URL_CREDENTIALS.finditer(text):
            assert found["password"].startswith("${"), f"literal password in URL {found.group(0)!r}"
        assert not re.search(r"(\s|^)(-a|--pass(word)?)[ =](?![\"']?\$)", text), (
            f"literal password in {text!r}"
        )


def test_compose_variables_and_env_example_list_each_other(compose: dict[str, Any]) -> None:
    used = set().union(*(variables(s) for s in strings(compose)))
    listed = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used - set(listed) == set(), f".env.example lacks {sorted(used - set(listed))}"
    assert set(listed) - used == set(), f".env.example lists unused {sorted(set(listed) - used)}"
    assert listed.get("AIRFLOW_UID") == "50000"


def test_worker_has_no_fixed_name_or_host_port_so_it_scales(services: dict[str, Any]) -> None:
    worker = services["airflow-worker"]
    assert "container_name" not in worker, "a container_name stops `--scale airflow-worker=N`"
    assert not worker.get("ports"), f"host ports stop `--scale airflow-worker=N`: {worker.get('ports')}"


def test_core_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name in HEALTHCHECKED:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_services_waited_for_as_healthy_have_healthchecks(services: dict[str, Any]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for dep, spec in depends.items() if isinstance(depends, dict) else []:
            if spec.get("condition") == "service_healthy":
                assert services[dep].get("healthcheck"), (
                    f"{name} waits for {dep} to be healthy, which never is"
                )


def test_postgres_init_creates_each_database_the_stack_uses_with_its_own_role(
    compose: dict[str, Any],
) -> None:
    sql = POSTGRES_INIT.read_text()
    postgres = compose["services"]["postgres"]
    major = re.match(r"postgres:(\d+)", postgres["image"])
    assert major and int(major[1]) >= 15, f"init.sql needs psql's \\getenv (15+), not {postgres['image']}"
    assert (
        f"./{POSTGRES_INIT.relative_to(ROOT)}:/docker-entrypoint-initdb.d/init.sql:ro" in postgres["volumes"]
    )
    urls = [m for s in strings(compose) for m in URL_CREDENTIALS.finditer(s) if m["host"] == "postgres"]
    uses = {(m["user"], m["path"]) for m in urls}
    assert {db for _, db in uses} >= {"airflow", "feature_catalog", "mlflow"}, f"databases used: {uses}"
    for role, db in uses:
        assert re.search(rf"CREATE ROLE {role} LOGIN PASSWORD :'\w+';", sql), (
            f"init.sql creates no role {role}"
        )
        assert f"CREATE DATABASE {db} OWNER {role};" in sql, (
            f"init.sql creates no database {db} owned by {role}"
        )
    assert not re.search(r"PASSWORD\s+'", sql), "init.sql holds a literal password"
    missing = set(re.findall(r"\\getenv \w+ (\w+)", sql)) - set(environment(postgres))
    assert not missing, f"init.sql reads {sorted(missing)}, which the postgres service is not given"


def test_cache_acl_is_rendered_from_the_template_with_hashed_passwords(services: dict[str, Any]) -> None:
    cache = services["redis-cache"]
    version = re.match(r"redis:(\d+)\.(\d+)", cache["image"])
    assert version and (int(version[1]), int(version[2])) >= (7, 2), (
        f"the ACL grants client|setinfo, which {cache['image']} does not know (Redis 7.2+)"
    )
    assert "entrypoint.sh" in " ".join(cache["entrypoint"])
    assert "./deploy/redis-cache:/etc/fti/redis-cache:ro" in cache["volumes"]
    placeholders = set(re.findall(r"@\w+@", ACL_TEMPLATE.read_text()))
    rendered = set(re.findall(r"s/(@\w+@)/", ACL_ENTRYPOINT.read_text()))
    assert placeholders and placeholders == rendered, f"template {placeholders} vs entrypoint {rendered}"
    plaintext = [r for rules in acl_users().values() for r in rules if r.startswith(">")]
    assert not plaintext, "the ACL template holds a plaintext password"


def test_cache_default_user_is_disabled() -> None:
    rules = acl_users()["default"]
    assert "off" in rules and "on" not in rules and "nopass" not in rules, f"default user: {rules}"


def test_cache_reader_acl_grants_no_write_command() -> None:
    rules = acl_users()["fti_reader"]
    assert "on" in rules
    writes = granted(rules) - READ_ONLY_COMMANDS
    assert not writes, f"fti_reader may run {sorted(writes)}"
    assert key_patterns(rules) == {"fti:*"}, f"fti_reader reaches keys {key_patterns(rules)}"


def test_cache_operator_may_only_kill_a_script_or_function() -> None:
    rules = acl_users()["fti_operator"]
    assert "on" in rules
    assert granted(rules) == {"ping", "client|setinfo", "script|kill", "function|kill"}, rules
    assert key_patterns(rules) == set(), f"fti_operator reaches keys {key_patterns(rules)}"


def test_cache_writer_may_publish_but_only_under_fti_keys() -> None:
    rules = acl_users()["fti_writer"]
    assert PUBLISHER_COMMANDS <= granted(rules), (
        f"the publisher needs {sorted(PUBLISHER_COMMANDS - granted(rules))}"
    )
    extra = granted(rules) - WRITER_MAY
    assert not extra, f"fti_writer may also run {sorted(extra)}, which the publisher never sends"
    assert key_patterns(rules) == {"fti:*"}, f"fti_writer reaches keys {key_patterns(rules)}"


def test_cache_runs_with_a_memory_limit_and_noeviction(services: dict[str, Any]) -> None:
    conf = dict(
        line.split(None, 1) for line in CACHE_MEMORY_CONF.read_text().splitlines() if line and line[0] != "#"
    )
    assert conf.get("maxmemory-policy") == "noeviction", f"memory.conf: {conf}"
    assert re.fullmatch(r"[1-9]\d*(gb|mb)", conf.get("maxmemory", "0")), f"memory.conf: {conf}"
    started = ACL_ENTRYPOINT.read_text().split("exec docker-entrypoint.sh redis-server", 1)[1]
    assert started.split()[0] == '"$here/memory.conf"', "entrypoint.sh must pass memory.conf first"
    command = " ".join(services["redis-cache"].get("command", []))
    assert "maxmemory-policy" not in command, f"the compose command overrides the policy: {command}"
    assert "deploy/redis-cache/memory.conf" in REDIS_LOCAL.read_text(), "make run's Redis ignores memory.conf"
