package io.pvecri.proxmox.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

/**
 * Where a PVE node keeps what pve-cri reads or edits directly (reference §8): the CT config files
 * ({@code /etc/pve/lxc}), their flocks ({@code /run/lock/lxc}) and LXC's lxcpath ({@code /var/lib/lxc},
 * for {@code lxc-attach}/{@code lxc-info}). {@link #under(Path)} roots all three in one directory, as the
 * emulator lays them out.
 */
public record NodeFiles(Path configDir, Path lockDir, Path lxcPath) {

    /** PVE's own lock wait for config changes ({@code lock_config}). */
    public static final Duration LOCK_TIMEOUT = Duration.ofSeconds(10);

    /** The paths on a real PVE node. */
    public static NodeFiles real() {
        return new NodeFiles(Path.of("/etc/pve/lxc"), Path.of("/run/lock/lxc"), Path.of("/var/lib/lxc"));
    }

    /** The same layout below {@code root} ({@code root/etc/pve/lxc}, ...). */
    public static NodeFiles under(Path root) {
        return new NodeFiles(root.resolve("etc/pve/lxc"), root.resolve("run/lock/lxc"), root.resolve("var/lib/lxc"));
    }

    public Path configFile(int vmid) {
        return configDir.resolve(vmid + ".conf");
    }

    public CtConfigLock lock() {
        return new CtConfigLock(lockDir);
    }

    /** Reads a CT's config file. */
    public CtConfigFile readConfig(int vmid) throws IOException {
        return CtConfigFile.parse(Files.readString(configFile(vmid), StandardCharsets.UTF_8));
    }

    /** Writes a CT's config file atomically (temp file + rename in the same directory); hold the lock. */
    public void writeConfig(int vmid, CtConfigFile config) throws IOException {
        Path target = configFile(vmid);
        Path tmp = target.resolveSibling("." + vmid + ".conf.tmp." + ProcessHandle.current().pid() + "." + Thread.currentThread().threadId());
        try {
            Files.writeString(tmp, config.render(), StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(tmp); // no stray temp file next to the configs
            throw e;
        }
    }

    /**
     * Edits a CT's config file under its flock: read, apply, write back atomically. The CT must exist.
     */
    public void edit(int vmid, java.util.function.Consumer<CtConfigFile> change) throws Exception {
        lock().run(vmid, LOCK_TIMEOUT, () -> {
            CtConfigFile c = readConfig(vmid);
            change.accept(c);
            writeConfig(vmid, c);
        });
    }
}
