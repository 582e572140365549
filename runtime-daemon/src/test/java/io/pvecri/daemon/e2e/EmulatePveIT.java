package io.pvecri.daemon.e2e;

import io.pvecri.daemon.config.ConfigLoader;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.proxmox.ApiToken;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveClientConfig;
import io.pvecri.proxmox.TlsTrust;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code pve-cri emulate-pve}: its first lines say how to reach the emulated node, the config it
 * writes loads as a proxmox-backend config, and the API answers with the printed token and pin.
 */
class EmulatePveIT {

    @Test
    void printsHowToReachTheNodeAndWritesALoadableDaemonConfig(@TempDir Path dir) throws Exception {
        Path executable = Path.of(System.getProperty("pvecri.dist")).resolve("bin/pve-cri");
        ProcessBuilder pb = new ProcessBuilder(executable.toString(), "emulate-pve", "--listen", "127.0.0.1:0",
                "--state-dir", dir.toString()).redirectErrorStream(false);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.redirectError(dir.resolve("emulate-pve.err").toFile());
        Process p = pb.start();
        try {
            List<String> lines = new ArrayList<>();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    for (String l; (l = out.readLine()) != null; ) {
                        synchronized (lines) {
                            lines.add(l);
                        }
                    }
                } catch (java.io.IOException ignored) {
                    // the process was stopped
                }
            });
            Wait.until("emulate-pve to print its config line", java.time.Duration.ofSeconds(60), () -> {
                synchronized (lines) {
                    return lines.stream().anyMatch(l -> l.startsWith("config="));
                }
            });
            List<String> first;
            synchronized (lines) {
                first = List.copyOf(lines);
            }
            assertTrue(first.get(0).startsWith("url=https://127.0.0.1:"), first.toString());
            assertEquals("node=pve-emu", first.get(1));
            assertTrue(first.get(2).matches("fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}"), first.get(2));
            assertTrue(first.get(3).matches("token=pve-cri@pve!cri=[0-9a-f-]{36}"), first.get(3));
            Path config = dir.resolve("pve-cri.yaml");
            assertEquals("config=" + config, first.get(4));

            DaemonConfig cfg = ConfigLoader.load(config, ConfigLoader.Overrides.none());
            assertEquals(DaemonConfig.Backend.PROXMOX, cfg.backend());
            assertEquals(first.get(0).substring(4), cfg.proxmox().url().toString());
            assertEquals(dir.resolve("node"), cfg.proxmox().nodeRoot());
            assertTrue(Files.isDirectory(cfg.proxmox().nodeRoot().resolve("etc/pve/lxc")), "the node's config dir exists");

            String token = first.get(3).substring("token=".length());
            String tokenId = token.substring(0, token.lastIndexOf('='));
            try (PveClient client = PveClient.create(PveClientConfig.builder(URI.create(first.get(0).substring(4)),
                    ApiToken.fromFile(tokenId, cfg.proxmox().tokenSecretFile()),
                    new TlsTrust.Fingerprint(first.get(2).substring("fingerprint=".length()))).build())) {
                assertTrue(client.nodes().stream().anyMatch(n -> n.node().equals("pve-emu")));
            }
            reader.interrupt();
        } finally {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
