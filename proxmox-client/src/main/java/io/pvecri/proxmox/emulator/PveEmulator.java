package io.pvecri.proxmox.emulator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An emulated PVE node API on {@code https://127.0.0.1:<port>/api2/json}. Start with
 * {@link #start(EmulatorConfig)}, point a client at {@link #uri()}, prepare or inspect state through
 * {@link #cluster()}, inject failures through {@link #faults()}, {@link #close()} when done.
 *
 * <pre>{@code
 * try (var pve = PveEmulator.start(EmulatorConfig.builder(ServerTls.of(keyStore, pw)).token("root@pam!test", secret).build())) {
 *     pve.cluster().addVolume("local", new EmulatedCluster.Volume("local:vztmpl/alpine.tar.xz", "vztmpl", "txz", 3 << 20, 0, ""));
 *     pve.faults().lockTimeout("PUT", "/nodes/pve1/lxc/100/config", 100, 2);
 *     ...
 * }
 * }</pre>
 */
public final class PveEmulator implements AutoCloseable {

    private final EmulatorConfig config;
    private final EmulatedCluster cluster;
    private final Faults faults = new Faults();
    private final HttpFront front;

    private PveEmulator(EmulatorConfig config) throws IOException {
        this.config = config;
        this.cluster = new EmulatedCluster(config.nodes(), config.nextIdLower(), config.nextIdUpper(), config.pstartBase(),
                config.stateDir());
        Router router = new Router(config, faults);
        new ClusterHandlers(config, cluster, faults, config.tls().fingerprint()).register(router);
        new TaskHandlers(cluster).register(router);
        new LxcHandlers(config, cluster, faults).register(router);
        new StorageHandlers(config, cluster, faults).register(router);
        new AccessHandlers(config, cluster).register(router);
        this.front = new HttpFront(config.tls().context(), InetAddress.getByName(config.listenHost()), config.port(),
                cluster.stateDir().map(d -> d.resolve("var/tmp")).orElse(null), router);
    }

    /** Starts serving at once. */
    public static PveEmulator start(EmulatorConfig config) {
        Objects.requireNonNull(config, "config");
        try {
            return new PveEmulator(config);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start PVE emulator: " + e.getMessage(), e);
        }
    }

    /**
     * A stand-alone node that runs its CTs with local LXC, its state (configs, volumes, TLS identity, API
     * token) in {@code stateDir}; see {@link LocalEmulator}. {@code listen} is {@code HOST:PORT}.
     */
    public static LocalEmulator startLocal(Path stateDir, String listen) {
        return LocalEmulator.start(stateDir, listen);
    }

    /** {@code https://127.0.0.1:<port>} (the client appends {@code /api2/json}). */
    public URI uri() {
        String host = config.listenHost().contains(":") ? "[" + config.listenHost() + "]" : config.listenHost();
        return URI.create("https://" + host + ":" + front.port());
    }

    public int port() {
        return front.port();
    }

    public EmulatorConfig config() {
        return config;
    }

    public EmulatedCluster cluster() {
        return cluster;
    }

    public Faults faults() {
        return faults;
    }

    @Override
    public void close() {
        front.close();
    }
}
