package io.pvecri.daemon.cli;

import io.pvecri.daemon.util.AtomicFiles;
import io.pvecri.proxmox.emulator.LocalEmulator;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;

/**
 * {@code pve-cri emulate-pve --listen 127.0.0.1:PORT --state-dir DIR}: runs the PVE API emulator (real
 * LXC underneath) in the foreground, prints how to reach it as its first lines and writes a daemon
 * config for the proxmox backend to {@code DIR/pve-cri.yaml}, so that
 * {@code pve-cri serve --config DIR/pve-cri.yaml} runs pods through it without a PVE node.
 */
final class EmulatePve {
    private EmulatePve() {}

    static int run(Args a, PrintStream out, PrintStream err) throws Args.UsageException, IOException, InterruptedException {
        String listen = a.flags.getOrDefault("listen", "127.0.0.1:8006");
        String dir = a.flags.get("state-dir");
        if (dir == null) {
            throw new Args.UsageException("emulate-pve needs --state-dir DIR (the emulated node's files and the generated config go there)");
        }
        if (!listen.startsWith("127.") && !listen.startsWith("[::1]") && !listen.startsWith("localhost:")) {
            throw new Args.UsageException("emulate-pve listens on loopback only (e.g. --listen 127.0.0.1:8006), got " + listen);
        }
        Path state = Path.of(dir).toAbsolutePath().normalize();
        Files.createDirectories(state);
        LocalEmulator emu = LocalEmulator.start(state.resolve("node"), listen);
        Path secret = state.resolve("pve-token");
        Files.deleteIfExists(secret);
        Files.createFile(secret, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(secret, emu.secret() + "\n");
        out.println("url=" + emu.url());
        out.println("node=" + emu.node());
        out.println("fingerprint=" + emu.fingerprint());
        out.println("token=" + emu.tokenId() + "=" + emu.secret());
        Path config = state.resolve("pve-cri.yaml");
        AtomicFiles.write(config, daemonConfig(emu, state, secret).getBytes(StandardCharsets.UTF_8));
        out.println("config=" + config);
        out.println("# run pods through it: pve-cri serve --config " + config);
        out.flush();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            emu.close();
            stop.countDown();
        }, "emulate-pve-stop"));
        stop.await();
        return 0;
    }

    static String daemonConfig(LocalEmulator emu, Path state, Path secret) {
        return """
                # Written by `pve-cri emulate-pve` for its emulated node; see docs/proxmox.md.
                socket: %s
                stateDir: %s
                backend: proxmox
                proxmox:
                  url: %s
                  node: %s
                  tokenId: "%s"
                  tokenSecretFile: %s
                  fingerprint: "%s"
                  nodeRoot: %s
                  templateStorage: local
                  rootfsStorage: local-zfs
                  rootfsSizeGiB: 1
                metrics:
                  listen: "127.0.0.1:9334"
                network:
                  # No NAT on the host's uplink for a demo; pods reach each other and the node.
                  masquerade: false
                """.formatted(state.resolve("pve-cri.sock"), state.resolve("pve-cri-state"), emu.url(), emu.node(),
                emu.tokenId(), secret, emu.fingerprint(), state.resolve("node"));
    }
}
