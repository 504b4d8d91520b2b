# What systemd hears from the worker (worker/notify.c): READY=1, STATUS
# lines, watchdog pings at a quarter of WatchdogSec=, STOPPING=1 when
# SIGTERM comes and again at the exit.  Built without libsystemd, it says
# nothing at all.
source "$(dirname "$0")/lib.sh"

# Whether this binary links libsystemd.  (Not `ldd | grep -q` under
# pipefail: grep -q may close the pipe before ldd is done, and ldd's
# SIGPIPE then reads as "no".)
sd=0
case "$(ldd "$BIN/onesheet-worker")" in *libsystemd*) sd=1 ;; esac
python3 - "$BIN/onesheet-worker" "$T/notify.sock" "$sd" >"$T/notes" <<'PY' || fail "listener failed"
import os, signal, socket, subprocess, sys, time
worker, path, sd = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.1)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
p = subprocess.Popen([worker, "--poll-wait", "0"], env=env, stderr=subprocess.DEVNULL)
# SIGTERM 2 s after READY (without libsystemd, 2 s after the start; with
# it, 10 s at most), then whatever else comes until the exit.
notes, t0, ready, termed = [], time.time(), None, False
while p.poll() is None or time.time() - t0 < 0.5:
    now = time.time()
    if not termed and now - (ready or (t0 + 8 if sd else t0)) > 2:
        p.send_signal(signal.SIGTERM)
        termed, t0 = True, now
    if now - t0 > 20:
        p.kill()
        sys.exit("the worker did not stop")
    try:
        notes.append(s.recv(4096).decode())
        if ready is None and notes[-1].startswith("READY=1"):
            ready = time.time()
    except socket.timeout:
        pass
for n in notes:
    print(n.replace("\n", "|"))
print("exit", p.returncode)
PY
tail -n 1 "$T/notes" | grep -qx "exit 0" || { cat "$T/notes"; fail "worker exit status"; }

if [ "$sd" = 0 ]; then
    [ "$(wc -l <"$T/notes")" = 1 ] || { cat "$T/notes"; fail "no libsystemd, yet it notified"; }
    ok "built without libsystemd: nothing sent"
    exit 0
fi
head -n 1 "$T/notes" | grep -qx "READY=1|STATUS=processing" || { cat "$T/notes"; fail "READY first"; }
grep -qx "STATUS=processing: 0 in flight, 0 succeeded, 0 failed, 0.0 jobs/s" "$T/notes" ||
    { cat "$T/notes"; fail "a STATUS line"; }
# 1 s watchdog, pinged every 250 ms for 2 s.
pings=$(grep -cx "WATCHDOG=1" "$T/notes")
[ "$pings" -ge 4 ] || { cat "$T/notes"; fail "$pings watchdog pings in 2 s"; }
grep -qx "STOPPING=1|STATUS=finishing in-flight jobs" "$T/notes" ||
    { cat "$T/notes"; fail "STOPPING on SIGTERM"; }
[ "$(tail -n 2 "$T/notes" | head -n 1)" = "STOPPING=1" ] || { cat "$T/notes"; fail "STOPPING last"; }
ok "READY, STATUS, $pings watchdog pings, STOPPING on SIGTERM and at the exit"
