package io.pvecri.daemon.e2e;

import io.pvecri.daemon.config.ConfigLoader;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.proxmox.ApiToken;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveClientConfig;
import io.pvecri.proxmox.TlsTrust;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code pve-cri emulate-pve}: its first lines say how to reach the emulated node, the config it
 * writes loads as a proxmox-backend config, and the API answers with the printed token and pin.
 */
class EmulatePveIT {

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void printsHowToReachTheNodeAndWritesALoadableDaemonConfig() throws Exception {
        // Not a @TempDir (0700): the emulated node's unprivileged CTs (uid 100000) must reach it.
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pce-emu-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path executable = Path.of(System.getProperty("pvecri.dist")).resolve("bin/pve-cri");
        Path stdout = dir.resolve("emulate-pve.out");
        ProcessBuilder pb = new ProcessBuilder(executable.toString(), "emulate-pve", "--listen", "127.0.0.1:0",
                "--state-dir", dir.resolve("node-state").toString())
                .redirectOutput(stdout.toFile()).redirectError(dir.resolve("emulate-pve.err").toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        try {
            Wait.until("emulate-pve to print its config line", java.time.Duration.ofSeconds(60), () -> {
                if (!p.isAlive()) {
                    throw new AssertionError("emulate-pve exited with " + p.exitValue() + ": " + read(dir.resolve("emulate-pve.err")));
                }
                return read(stdout).lines().anyMatch(l -> l.startsWith("config="));
            });
            List<String> first = read(stdout).lines().toList();
            assertTrue(first.get(0).startsWith("url=https://127.0.0.1:"), first.toString());
            assertEquals("node=pve-emu", first.get(1));
            assertTrue(first.get(2).matches("fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}"), first.get(2));
            assertTrue(first.get(3).matches("token=pve-cri@pve!cri=[0-9a-f-]{36}"), first.get(3));
            Path config = dir.resolve("node-state/pve-cri.yaml");
            assertEquals("config=" + config, first.get(4));

            DaemonConfig cfg = ConfigLoader.load(config, ConfigLoader.Overrides.none());
            assertEquals(DaemonConfig.Backend.PROXMOX, cfg.backend());
            assertEquals(first.get(0).substring(4), cfg.proxmox().url().toString());
            assertEquals(dir.resolve("node-state/node"), cfg.proxmox().nodeRoot());
            assertTrue(Files.isDirectory(cfg.proxmox().nodeRoot().resolve("etc/pve/lxc")), "the node's config dir exists");

            String token = first.get(3).substring("token=".length());
            String tokenId = token.substring(0, token.lastIndexOf('='));
            try (PveClient client = PveClient.create(PveClientConfig.builder(URI.create(first.get(0).substring(4)),
                    ApiToken.fromFile(tokenId, cfg.proxmox().tokenSecretFile()),
                    new TlsTrust.Fingerprint(first.get(2).substring("fingerprint=".length()))).build())) {
                assertTrue(client.nodes().stream().anyMatch(n -> n.node().equals("pve-emu")));
            }
        } finally {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            try (var paths = Files.walk(dir)) {
                for (Path f : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
