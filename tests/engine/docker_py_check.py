"""docker-py against berthd: run a container, read its logs, exec in it, list images,
remove it. Exits non-zero with the failing step named. DOCKER_HOST picks the daemon;
the image is the first argument (default busybox:latest)."""
import sys

import docker

image = sys.argv[1] if len(sys.argv) > 1 else "busybox:latest"
client = docker.from_env()

step = "ping"
try:
    assert client.ping()
    step = "images.list"
    tags = [t for i in client.images.list() for t in i.tags]
    assert image in tags, f"{image} not in {tags}"
    step = "containers.run (detached)"
    c = client.containers.run(image, ["sh", "-c", "echo hello from berth; sleep 30"], detach=True, name="dockerpy")
    step = "logs"
    for _ in range(50):
        logs = c.logs().decode()
        if "hello from berth" in logs:
            break
        import time; time.sleep(0.1)
    assert "hello from berth" in logs, repr(logs)
    step = "exec_run"
    code, out = c.exec_run(["sh", "-c", "echo exec-out; exit 4"])
    assert code == 4 and out.decode().strip() == "exec-out", (code, out)
    step = "reload/status"
    c.reload()
    assert c.status == "running", c.status
    step = "containers.list"
    assert any(x.id == c.id for x in client.containers.list())
    step = "run (attached, removed)"
    out = client.containers.run(image, ["echo", "one-shot"], remove=True)
    assert out.decode().strip() == "one-shot", out
    step = "stop/remove"
    c.stop(timeout=1)
    c.remove()
    assert not any(x.id == c.id for x in client.containers.list(all=True))
except Exception as e:  # noqa: BLE001 - report the step, whatever broke
    print(f"docker-py: step {step!r} failed: {e!r}", file=sys.stderr)
    try:
        client.containers.get("dockerpy").remove(force=True)
    except Exception:
        pass
    sys.exit(1)
print("docker-py: all steps passed")
