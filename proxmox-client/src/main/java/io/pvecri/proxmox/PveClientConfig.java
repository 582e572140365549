package io.pvecri.proxmox;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything the client needs. Build with {@link #builder(URI, ApiToken, TlsTrust)}; the defaults suit a
 * real node.
 *
 * @param baseUri                     {@code https://HOST:8006} (the client appends {@code /api2/json} if no path is given)
 * @param token                       API token (secret never logged)
 * @param trust                       TLS trust: fingerprint pin or CA file
 * @param connectTimeout              TCP + TLS connect limit (default 10 s)
 * @param requestTimeout              whole-call limit (default 65 s: PVE waits up to 10 s for locks and proxies
 *                                    between nodes with a 30 s timeout, answering 596 after it)
 * @param maxParallelMutationsPerNode POST/PUT/DELETE calls in flight per node (default 4)
 * @param lockRetry                   retries of mutating calls refused for lock contention
 * @param readAttempts                attempts of GET calls on {@link PveException.Unavailable} (default 3)
 * @param taskPoll                    task status polling backoff (default 200 ms growing ×1.5 to 2 s)
 * @param taskLogTail                 task log lines kept in {@link PveException.TaskFailed} (default 20)
 * @param vmidAttempts                VMIDs {@link VmidAllocator} tries before giving up (default 10)
 * @param listener                    per-call observer (metrics)
 */
public record PveClientConfig(URI baseUri, ApiToken token, TlsTrust trust, Duration connectTimeout,
                              Duration requestTimeout, int maxParallelMutationsPerNode, LockRetry.Policy lockRetry,
                              int readAttempts, Backoff taskPoll, int taskLogTail, int vmidAttempts,
                              PveCallListener listener) {

    public PveClientConfig {
        Objects.requireNonNull(baseUri, "baseUri");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(trust, "trust");
        Objects.requireNonNull(lockRetry, "lockRetry");
        Objects.requireNonNull(taskPoll, "taskPoll");
        Objects.requireNonNull(listener, "listener");
        if (!"https".equalsIgnoreCase(baseUri.getScheme()) || baseUri.getHost() == null) {
            throw new IllegalArgumentException("baseUri: expected https://HOST[:PORT][/api2/json], got " + baseUri);
        }
        if (baseUri.getRawUserInfo() != null || baseUri.getRawQuery() != null || baseUri.getRawFragment() != null) {
            throw new IllegalArgumentException("baseUri: must not carry user info, query or fragment: " + baseUri.getHost());
        }
        String path = baseUri.getPath() == null ? "" : baseUri.getPath().replaceAll("/+$", "");
        if (path.isEmpty()) {
            baseUri = baseUri.resolve("/api2/json");
        } else if (!path.equals("/api2/json")) {
            throw new IllegalArgumentException("baseUri: path must be empty or /api2/json, got " + path);
        } else {
            baseUri = baseUri.resolve(path);
        }
        positive("connectTimeout", connectTimeout);
        positive("requestTimeout", requestTimeout);
        atLeast("maxParallelMutationsPerNode", maxParallelMutationsPerNode, 1);
        atLeast("readAttempts", readAttempts, 1);
        atLeast("taskLogTail", taskLogTail, 0);
        atLeast("vmidAttempts", vmidAttempts, 1);
    }

    private static void positive(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": must be > 0, got " + d);
        }
    }

    private static void atLeast(String name, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(name + ": must be >= " + min + ", got " + value);
        }
    }

    public static Builder builder(URI baseUri, ApiToken token, TlsTrust trust) {
        return new Builder(baseUri, token, trust);
    }

    /** Builder with the defaults documented on the record. */
    public static final class Builder {
        private final URI baseUri;
        private final ApiToken token;
        private final TlsTrust trust;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofSeconds(65);
        private int maxParallelMutationsPerNode = 4;
        private LockRetry.Policy lockRetry = LockRetry.Policy.defaults();
        private int readAttempts = 3;
        private Backoff taskPoll = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(2), 1.5);
        private int taskLogTail = 20;
        private int vmidAttempts = 10;
        private PveCallListener listener = PveCallListener.NONE;

        private Builder(URI baseUri, ApiToken token, TlsTrust trust) {
            this.baseUri = baseUri;
            this.token = token;
            this.trust = trust;
        }

        public Builder connectTimeout(Duration v) {
            connectTimeout = v;
            return this;
        }

        public Builder requestTimeout(Duration v) {
            requestTimeout = v;
            return this;
        }

        public Builder maxParallelMutationsPerNode(int v) {
            maxParallelMutationsPerNode = v;
            return this;
        }

        public Builder lockRetry(LockRetry.Policy v) {
            lockRetry = v;
            return this;
        }

        public Builder readAttempts(int v) {
            readAttempts = v;
            return this;
        }

        public Builder taskPoll(Backoff v) {
            taskPoll = v;
            return this;
        }

        public Builder taskLogTail(int v) {
            taskLogTail = v;
            return this;
        }

        public Builder vmidAttempts(int v) {
            vmidAttempts = v;
            return this;
        }

        public Builder listener(PveCallListener v) {
            listener = v;
            return this;
        }

        public PveClientConfig build() {
            return new PveClientConfig(baseUri, token, trust, connectTimeout, requestTimeout,
                    maxParallelMutationsPerNode, lockRetry, readAttempts, taskPoll, taskLogTail, vmidAttempts, listener);
        }
    }
}
