"""_SchemaOnce: threads waiting behind a failing migration get its error when it ends."""
import threading
import time

from clients_service.storage import _SchemaOnce

ATTEMPT_S = 0.3


def test_waiters_get_the_failed_attempts_error_despite_a_prober_retrying():
    """What a cold gunicorn worker does when PostgreSQL is frozen: its first requests all
    queue behind one migration attempt that ends in connect_timeout, while the fail-fast
    probe (the thread whose request just failed, on its next request) starts the next
    attempt at once.  Each waiter must get an error when the attempt it waited for ends:
    with a lock held across the attempt, the prober re-took the (unfair) lock before the
    woken waiters ran, and they waited several attempts (whole multiples of the connect
    timeout: the 6-12 s 503s of the frozen-database test)."""
    once = _SchemaOnce()
    stop = threading.Event()

    def failing_migration():
        time.sleep(ATTEMPT_S)
        raise RuntimeError("connection timeout expired")

    def prober():
        while not stop.is_set():
            try:
                once.run(failing_migration)
            except RuntimeError:
                pass

    waited = []

    def waiter():
        t0 = time.monotonic()
        try:
            once.run(failing_migration)
        except RuntimeError:
            pass
        waited.append(time.monotonic() - t0)

    probe = threading.Thread(target=prober)
    probe.start()
    time.sleep(ATTEMPT_S / 3)  # the prober's first attempt is under way
    waiters = [threading.Thread(target=waiter) for _ in range(6)]
    try:
        for t in waiters:
            t.start()
        for t in waiters:
            t.join(timeout=10 * ATTEMPT_S)
    finally:
        stop.set()
        probe.join(timeout=10 * ATTEMPT_S)
    assert len(waited) == len(waiters), "waiters still blocked after 10 attempts"
    # at most the rest of the attempt under way when they arrived, plus scheduling slack
    assert max(waited) < 1.8 * ATTEMPT_S, sorted(waited)
    assert not once.done


def test_waiters_share_a_successful_attempt():
    once = _SchemaOnce()
    calls = []

    def migration():
        calls.append(1)
        time.sleep(0.2)

    threads = [threading.Thread(target=once.run, args=(migration,)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert once.done and len(calls) == 1
    once.run(migration)
    assert len(calls) == 1
