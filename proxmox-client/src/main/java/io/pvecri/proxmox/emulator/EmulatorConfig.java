package io.pvecri.proxmox.emulator;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How an emulator behaves. Build with {@link #builder(ServerTls)}; the defaults are PVE's where PVE has
 * one (10 s config flock wait, 5 s for the create/clone claim, 3 s delay on failed authentication).
 *
 * @param nodes             cluster node names, the first one answers (all guests live there unless seeded otherwise)
 * @param tokens            accepted API tokens, {@code user@realm!name → secret}
 * @param tls               server TLS identity (key + self-signed certificate, and its fingerprint)
 * @param port              listen port on 127.0.0.1, 0 for any free port
 * @param configLockTimeout wait for a config flock before {@code can't lock file … got timeout} (PVE: 10 s)
 * @param createLockTimeout the same for {@code create_and_lock_config} (PVE: 5 s)
 * @param taskDuration      how long an emulated worker runs
 * @param authFailureDelay  delay of a 401 answer (PVE: 3 s)
 * @param legacyErrors      answer errors like PVE before 8.3 / http-server 5.2: message only in the reason phrase
 * @param numbersAsStrings  emit numeric status fields as JSON strings, as 8.0-era nodes did
 * @param version           {@code GET /version} version, e.g. {@code 9.1.2}
 * @param pstartBase        first task pstart (clock ticks since boot); &gt; 0xFFFFFFFF gives 9-digit pstart like PVE after ~497 days
 * @param nextIdLower       datacenter.cfg next-id lower bound (PVE: 100)
 * @param nextIdUpper       next-id upper bound, exclusive (PVE: 1000000)
 * @param stateDir          null: guests live in memory ("start" flips a flag); else the emulator is real: CT configs
 *                          are PVE config files below this directory, storages are directories, CTs run with local
 *                          LXC (needs root); see {@link EmulatedCluster}
 * @param listenHost        the address to listen on (PVE: all; default 127.0.0.1)
 */
public record EmulatorConfig(List<String> nodes, Map<String, String> tokens, ServerTls tls, int port,
                             Duration configLockTimeout, Duration createLockTimeout, Duration taskDuration,
                             Duration authFailureDelay, boolean legacyErrors, boolean numbersAsStrings, String version,
                             long pstartBase, int nextIdLower, int nextIdUpper, Path stateDir, String listenHost) {

    public EmulatorConfig {
        nodes = List.copyOf(nodes);
        tokens = Map.copyOf(tokens);
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(configLockTimeout, "configLockTimeout");
        Objects.requireNonNull(createLockTimeout, "createLockTimeout");
        Objects.requireNonNull(taskDuration, "taskDuration");
        Objects.requireNonNull(authFailureDelay, "authFailureDelay");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(listenHost, "listenHost");
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("nodes: at least one node");
        }
        if (nextIdLower < 100 || nextIdUpper <= nextIdLower) {
            throw new IllegalArgumentException("nextIdLower/nextIdUpper: need 100 <= lower < upper");
        }
    }

    public static Builder builder(ServerTls tls) {
        return new Builder(tls);
    }

    /** Builder with PVE's defaults. */
    public static final class Builder {
        private final ServerTls tls;
        private List<String> nodes = List.of("pve1");
        private Map<String, String> tokens = Map.of();
        private int port;
        private Duration configLockTimeout = Duration.ofSeconds(10);
        private Duration createLockTimeout = Duration.ofSeconds(5);
        private Duration taskDuration = Duration.ofMillis(50);
        private Duration authFailureDelay = Duration.ofSeconds(3);
        private boolean legacyErrors;
        private boolean numbersAsStrings;
        private String version = "9.1.2";
        private long pstartBase = 0x01A2B3C4L;
        private int nextIdLower = 100;
        private int nextIdUpper = 1_000_000;
        private Path stateDir;
        private String listenHost = "127.0.0.1";

        private Builder(ServerTls tls) {
            this.tls = tls;
        }

        public Builder nodes(String... v) {
            nodes = List.of(v);
            return this;
        }

        public Builder token(String tokenId, String secret) {
            var m = new java.util.HashMap<>(tokens);
            m.put(tokenId, secret);
            tokens = m;
            return this;
        }

        public Builder port(int v) {
            port = v;
            return this;
        }

        public Builder configLockTimeout(Duration v) {
            configLockTimeout = v;
            return this;
        }

        public Builder createLockTimeout(Duration v) {
            createLockTimeout = v;
            return this;
        }

        public Builder taskDuration(Duration v) {
            taskDuration = v;
            return this;
        }

        public Builder authFailureDelay(Duration v) {
            authFailureDelay = v;
            return this;
        }

        public Builder legacyErrors(boolean v) {
            legacyErrors = v;
            return this;
        }

        public Builder numbersAsStrings(boolean v) {
            numbersAsStrings = v;
            return this;
        }

        public Builder version(String v) {
            version = v;
            return this;
        }

        public Builder pstartBase(long v) {
            pstartBase = v;
            return this;
        }

        public Builder nextIdRange(int lower, int upper) {
            nextIdLower = lower;
            nextIdUpper = upper;
            return this;
        }

        /** Makes the emulator real: configs, storages and CTs below {@code dir} (see {@link EmulatedCluster}). */
        public Builder stateDir(Path dir) {
            stateDir = dir;
            return this;
        }

        /** Listen address, e.g. {@code 127.0.0.1} (the default) or {@code ::1}. */
        public Builder listenHost(String host) {
            listenHost = host;
            return this;
        }

        public EmulatorConfig build() {
            return new EmulatorConfig(nodes, tokens, tls, port, configLockTimeout, createLockTimeout, taskDuration,
                    authFailureDelay, legacyErrors, numbersAsStrings, version, pstartBase, nextIdLower, nextIdUpper, stateDir,
                    listenHost);
        }
    }
}
