package io.pvecri.proxmox.emulator;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * Fault injection for an emulator. Request faults match on method and a regex over the decoded path
 * below {@code /api2/json} (e.g. {@code /nodes/[^/]+/lxc/\d+/config}) and fire a given number of times,
 * before the request reaches its handler (after authentication). Task faults change how the next
 * workers of a type end. All methods are thread-safe and return {@code this}.
 */
public final class Faults {

    /** What a matching request gets instead of its normal answer. */
    public sealed interface Fault {
        /** An error reply: status, PVE message (reason phrase = first line), optional {@code errors}. */
        record Respond(int status, String message, Map<String, String> errors) implements Fault {
            public Respond {
                Objects.requireNonNull(message, "message");
                errors = Map.copyOf(errors);
            }
        }

        /** Close the connection after reading the request, without answering. */
        record Drop() implements Fault {
        }

        /** Wait, then handle the request normally. */
        record Delay(Duration delay) implements Fault {
        }
    }

    private record Rule(String method, Pattern path, AtomicInteger remaining, Fault fault) {
    }

    private record TaskFault(AtomicInteger remaining, String message) {
    }

    private final CopyOnWriteArrayList<Rule> rules = new CopyOnWriteArrayList<>();
    private final Map<String, TaskFault> taskFailures = new ConcurrentHashMap<>();
    private final Map<String, Duration> taskDurations = new ConcurrentHashMap<>();
    private final AtomicInteger staleNextId = new AtomicInteger();

    /** The next {@code times} matching requests get {@code fault}. */
    public Faults inject(String method, String pathRegex, int times, Fault fault) {
        rules.add(new Rule(method, Pattern.compile(pathRegex), new AtomicInteger(times), fault));
        return this;
    }

    /** An error reply, e.g. {@code respond("PUT", "/nodes/.+/config", 1, 500, "got unexpected error")}. */
    public Faults respond(String method, String pathRegex, int times, int status, String message) {
        return inject(method, pathRegex, times, new Fault.Respond(status, message, Map.of()));
    }

    /**
     * The config flock timeout PVE answers after waiting 10 s:
     * {@code can't lock file '/run/lock/lxc/pve-config-<vmid>.lock' - got timeout} (HTTP 500).
     */
    public Faults lockTimeout(String method, String pathRegex, int vmid, int times) {
        return respond(method, pathRegex, times, 500, "can't lock file '/run/lock/lxc/pve-config-" + vmid + ".lock' - got timeout\n");
    }

    /** Dropped connections for the next {@code times} matching requests. */
    public Faults drop(String method, String pathRegex, int times) {
        return inject(method, pathRegex, times, new Fault.Drop());
    }

    /** Slow answers for the next {@code times} matching requests. */
    public Faults delay(String method, String pathRegex, int times, Duration delay) {
        return inject(method, pathRegex, times, new Fault.Delay(delay));
    }

    /** The next {@code times} tasks of {@code type} (e.g. {@code vzstart}) die with {@code message}. */
    public Faults failTasks(String type, int times, String message) {
        taskFailures.put(type, new TaskFault(new AtomicInteger(times), message));
        return this;
    }

    /** Tasks of {@code type} take this long (default: the emulator's task duration). */
    public Faults taskDuration(String type, Duration d) {
        taskDurations.put(type, d);
        return this;
    }

    /**
     * The next {@code times} {@code GET /cluster/nextid} answers name an id that is already taken, as a
     * node whose view of the cluster's vmlist lags behind would.
     */
    public Faults staleNextId(int times) {
        staleNextId.addAndGet(times);
        return this;
    }

    /** Forgets every fault. */
    public Faults clear() {
        rules.clear();
        taskFailures.clear();
        taskDurations.clear();
        staleNextId.set(0);
        return this;
    }

    Optional<Fault> match(String method, String path) {
        for (Rule r : rules) {
            if (r.method.equals(method) && r.path.matcher(path).matches()) {
                if (r.remaining.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                    return Optional.of(r.fault);
                }
            }
        }
        return Optional.empty();
    }

    Optional<String> taskFailure(String type) {
        TaskFault f = taskFailures.get(type);
        if (f != null && f.remaining.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
            return Optional.of(f.message);
        }
        return Optional.empty();
    }

    Optional<Duration> taskDuration(String type) {
        return Optional.ofNullable(taskDurations.get(type));
    }

    boolean takeStaleNextId() {
        return staleNextId.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
    }
}
