package io.pvecri.daemon.e2e;

import io.pvecri.proxmox.ApiToken;
import io.pvecri.proxmox.LxcApi;
import io.pvecri.proxmox.LxcStatus;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveClientConfig;
import io.pvecri.proxmox.PveException;
import io.pvecri.proxmox.TlsTrust;
import io.pvecri.proxmox.emulator.LocalEmulator;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The PVE node a proxmox-backend daemon talks to in the e2e tests: the PVE emulator (running real
 * LXC) started in the test JVM, or, when {@code PVE_URL}, {@code PVE_TOKEN_ID},
 * {@code PVE_TOKEN_SECRET_FILE}, {@code PVE_NODE} and {@code PVE_FINGERPRINT} are set, the real node
 * this test runs on (docs/proxmox.md). Each daemon gets a tag of its own, so cleanup only ever
 * touches CTs this test made.
 */
final class PveTarget implements AutoCloseable {
    static final String BACKEND_PROPERTY = "pvecri.e2e.backend";
    private static final List<String> REAL_VARS = List.of("PVE_URL", "PVE_TOKEN_ID", "PVE_TOKEN_SECRET_FILE", "PVE_NODE", "PVE_FINGERPRINT");

    private final LocalEmulator emulator; // null on a real node
    private final URI url;
    private final String node;
    private final String tokenId;
    private final Path secretFile;
    private final String fingerprint;
    private final Path nodeRoot;
    private final String tag;
    private final PveClient client;

    /** True when the e2e run targets the proxmox backend ({@code -Dpvecri.e2e.backend=proxmox}). */
    static boolean selected() {
        return "proxmox".equals(System.getProperty(BACKEND_PROPERTY, "lxc"));
    }

    private PveTarget(LocalEmulator emulator, URI url, String node, String tokenId, Path secretFile, String fingerprint,
                      Path nodeRoot) {
        this.emulator = emulator;
        this.url = url;
        this.node = node;
        this.tokenId = tokenId;
        this.secretFile = secretFile;
        this.fingerprint = fingerprint;
        this.nodeRoot = nodeRoot;
        this.tag = "e2e-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        this.client = PveClient.create(PveClientConfig.builder(url, ApiToken.fromFile(tokenId, secretFile),
                new TlsTrust.Fingerprint(fingerprint)).build());
    }

    static PveTarget start(Path root) throws IOException {
        if (REAL_VARS.stream().allMatch(v -> System.getenv(v) != null && !System.getenv(v).isBlank())) {
            return new PveTarget(null, URI.create(System.getenv("PVE_URL")), System.getenv("PVE_NODE"),
                    System.getenv("PVE_TOKEN_ID"), Path.of(System.getenv("PVE_TOKEN_SECRET_FILE")),
                    System.getenv("PVE_FINGERPRINT"), Path.of("/"));
        }
        LocalEmulator emu = LocalEmulator.start(root.resolve("pve"), "127.0.0.1:0");
        Path secret = root.resolve("pve-token");
        Files.writeString(secret, emu.secret() + "\n");
        return new PveTarget(emu, emu.url(), emu.node(), emu.tokenId(), secret, emu.fingerprint(), root.resolve("pve"));
    }

    /** The {@code backend:} and {@code proxmox:} sections of the daemon's config. */
    String yaml() {
        return """
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
                  vmidMin: 90000
                  vmidMax: 99999
                  tag: %s
                  taskTimeoutSeconds: 60
                """.formatted(url, node, tokenId, secretFile, fingerprint, nodeRoot, tag);
    }

    Path lxcPath() {
        return nodeRoot.resolve("var/lib/lxc");
    }

    Optional<LocalEmulator> emulator() {
        return Optional.ofNullable(emulator);
    }

    PveClient client() {
        return client;
    }

    String node() {
        return node;
    }

    String tag() {
        return tag;
    }

    /** CTs with this test's tag other than image templates: each one is a container the daemon did not remove. */
    List<LxcStatus> containerCts() {
        return client.lxc(node).list().stream().filter(ct -> ct.tags().contains(tag) && !ct.template()).toList();
    }

    /** Stops and destroys every CT with this test's tag (templates included); returns what it destroyed. */
    List<Integer> destroyAll() {
        List<Integer> destroyed = new ArrayList<>();
        LxcApi lxc = client.lxc(node);
        List<LxcStatus> ours = lxc.list().stream().filter(ct -> ct.tags().contains(tag)).toList();
        // clones before templates: PVE refuses to free a base in use
        for (LxcStatus ct : ours.stream().sorted((a, b) -> Boolean.compare(a.template(), b.template())).toList()) {
            try {
                if (ct.running()) {
                    client.taskWaiter().await(lxc.stop(ct.vmid()), Duration.ofSeconds(60));
                }
                client.taskWaiter().await(lxc.delete(ct.vmid()), Duration.ofSeconds(60));
                destroyed.add(ct.vmid());
            } catch (PveException e) {
                System.err.println("[e2e] cannot destroy CT " + ct.vmid() + ": " + e.getMessage());
            }
        }
        return destroyed;
    }

    @Override
    public void close() {
        client.close();
        if (emulator != null) {
            emulator.close();
        }
    }
}
