package io.pvecri.proxmox;

import io.pvecri.proxmox.emulator.EmulatedCluster;
import io.pvecri.proxmox.emulator.EmulatorConfig;
import io.pvecri.proxmox.emulator.PveEmulator;
import io.pvecri.proxmox.emulator.ServerTls;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;

/** An emulator plus a client pinned to its certificate, with short timings for tests. */
final class Fixture implements AutoCloseable {

    static final String NODE = "pve1";
    static final String TOKEN_ID = "root@pam!pvecri";
    static final String TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

    final String secret = UUID.randomUUID().toString();
    final PveEmulator pve;
    final PveClient client;

    Fixture() {
        this(e -> e, c -> c);
    }

    Fixture(UnaryOperator<EmulatorConfig.Builder> emulator, UnaryOperator<PveClientConfig.Builder> clientConfig) {
        TestCerts.Cert cert = TestCerts.localhost();
        pve = PveEmulator.start(emulator.apply(EmulatorConfig.builder(ServerTls.of(cert.keyStore(), TestCerts.PASSWORD))
                .nodes(NODE, "pve2").token(TOKEN_ID, secret)
                .configLockTimeout(Duration.ofMillis(300)).createLockTimeout(Duration.ofMillis(200))
                .taskDuration(Duration.ofMillis(20)).authFailureDelay(Duration.ofMillis(20))).build());
        pve.cluster().addVolume("local", new EmulatedCluster.Volume(TEMPLATE, "vztmpl", "tzst", 126_000_000L, 0, ""));
        client = PveClient.create(clientConfig.apply(PveClientConfig.builder(pve.uri(), new ApiToken(TOKEN_ID, secret),
                        new TlsTrust.Fingerprint(cert.fingerprint()))
                .lockRetry(new LockRetry.Policy(6, new Backoff(Duration.ofMillis(10), Duration.ofMillis(80), 2.0)))
                .taskPoll(new Backoff(Duration.ofMillis(10), Duration.ofMillis(50), 1.5))
                .requestTimeout(Duration.ofSeconds(10))).build());
    }

    LxcApi lxc() {
        return client.lxc(NODE);
    }

    /** Creates CT {@code vmid} from the test template and waits for it. */
    void createCt(int vmid, Map<String, String> extra) {
        PveParams p = PveParams.of().with("ostemplate", TEMPLATE).with("storage", "local-zfs")
                .with("unprivileged", true).with("hostname", "ct" + vmid).withAll(PveParams.of(extra));
        client.taskWaiter().await(lxc().create(vmid, p), Duration.ofSeconds(5));
    }

    /** Creates CT {@code vmid} and converts it to a template. */
    void createTemplate(int vmid) {
        createCt(vmid, Map.of());
        client.taskWaiter().await(lxc().template(vmid), Duration.ofSeconds(5));
    }

    @Override
    public void close() {
        client.close();
        pve.close();
    }
}
