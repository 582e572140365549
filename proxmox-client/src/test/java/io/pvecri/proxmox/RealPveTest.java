package io.pvecri.proxmox;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Read-only calls against a real PVE node, when the environment names one:
 * {@code PVE_URL} (https://host:8006), {@code PVE_TOKEN_ID} (user@realm!name), {@code PVE_TOKEN_SECRET_FILE},
 * {@code PVE_NODE}, {@code PVE_FINGERPRINT} (SHA-256, AA:BB:…). Skipped, with the reason printed, otherwise.
 */
class RealPveTest {

    private static final List<String> VARS = List.of("PVE_URL", "PVE_TOKEN_ID", "PVE_TOKEN_SECRET_FILE", "PVE_NODE", "PVE_FINGERPRINT");
    private static PveClient client;
    private static String node;

    @BeforeAll
    static void connect() {
        List<String> missing = VARS.stream().filter(v -> System.getenv(v) == null || System.getenv(v).isBlank()).toList();
        if (!missing.isEmpty()) {
            String reason = "RealPveTest skipped: no real PVE node configured (unset: " + String.join(", ", missing) + ")";
            System.out.println(reason);
            Assumptions.abort(reason);
        }
        node = System.getenv("PVE_NODE");
        client = PveClient.create(PveClientConfig.builder(URI.create(System.getenv("PVE_URL")),
                ApiToken.fromFile(System.getenv("PVE_TOKEN_ID"), Path.of(System.getenv("PVE_TOKEN_SECRET_FILE"))),
                new TlsTrust.Fingerprint(System.getenv("PVE_FINGERPRINT"))).build());
    }

    @AfterAll
    static void close() {
        if (client != null) {
            client.close();
        }
    }

    @Test
    void version() {
        PveVersion v = client.version();
        System.out.println("PVE " + v);
        assertTrue(v.major() >= 7, v.toString());
    }

    @Test
    void nodes() {
        List<NodeInfo> nodes = client.nodes();
        assertTrue(nodes.stream().anyMatch(n -> n.node().equals(node)), nodes.toString());
        NodeInfo self = nodes.stream().filter(n -> n.node().equals(node)).findFirst().orElseThrow();
        if (!self.sslFingerprint().isEmpty()) {
            System.out.println("node " + node + " certificate " + self.sslFingerprint());
        }
    }

    @Test
    void nextIdAndItsCheckForm() {
        int id = client.cluster().nextId();
        assertTrue(id >= 100, "nextid " + id);
        assertTrue(client.cluster().isFree(id));
        Stream<ClusterResource> guests = client.cluster().guests().stream();
        guests.findFirst().ifPresent(g -> assertFalse(client.cluster().isFree(g.vmid()), "taken id " + g.vmid()));
    }

    @Test
    void resourcesAndLocalContainers() {
        List<ClusterResource> guests = client.cluster().guests();
        System.out.println(guests.size() + " guests visible to the token");
        for (ClusterResource g : guests) {
            assertTrue(g.vmid() >= 100, g.toString());
            assertTrue(g.type().equals("lxc") || g.type().equals("qemu"), g.toString());
        }
        client.lxc(node).list();
        client.storage(node).list();
    }
}
