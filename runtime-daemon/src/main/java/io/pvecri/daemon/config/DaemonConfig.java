package io.pvecri.daemon.config;

import java.nio.file.Path;

/**
 * The daemon's whole configuration, as read from the YAML file (docs/configuration.md lists
 * every key) and then overridden by command-line flags. Values here are already validated.
 *
 * @param socket     the CRI unix socket kubelet and crictl connect to
 * @param stateDir   where records, image cache and container directories live
 * @param backend    which runtime backend runs containers
 * @param lxc        settings of the local LXC backend
 * @param metrics    the Prometheus endpoint
 * @param logLevel   debug, info, warn or error
 * @param runtime    CRI-level behaviour
 * @param network    pod networking (docs/networking.md)
 */
public record DaemonConfig(Path socket, Path stateDir, Backend backend, Lxc lxc, Metrics metrics,
                           String logLevel, Runtime runtime, io.pvecri.network.NetworkConfig network) {

    public enum Backend { LXC }

    /**
     * @param path     the lxcpath holding pve-cri's LXC containers (one directory each)
     * @param logLevel LXC's own log level for each container's lxc.log (TRACE..FATAL)
     */
    public record Lxc(Path path, String logLevel) {}

    /** @param listen host:port of /metrics and /healthz, or null when disabled */
    public record Metrics(String listen) {}

    /**
     * @param cgroupDriver          reported to kubelet (cgroupfs: pve-cri manages cgroups itself)
     * @param defaultStopSignal     used when neither the image nor the request names one
     * @param execOutputLimitBytes  cap of each of stdout and stderr kept for one ExecSync
     */
    public record Runtime(String cgroupDriver, String defaultStopSignal, int execOutputLimitBytes) {}

    public Path containersDir() {
        return stateDir.resolve("containers");
    }

    public Path podsDir() {
        return stateDir.resolve("pods");
    }

    public Path imagesDir() {
        return stateDir.resolve("images");
    }
}
