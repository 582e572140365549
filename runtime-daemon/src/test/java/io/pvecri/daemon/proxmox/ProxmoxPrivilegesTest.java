package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.config.ProxmoxSection;
import io.pvecri.proxmox.ApiToken;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveClientConfig;
import io.pvecri.proxmox.TestCerts;
import io.pvecri.proxmox.TlsTrust;
import io.pvecri.proxmox.emulator.EmulatorConfig;
import io.pvecri.proxmox.emulator.PveEmulator;
import io.pvecri.proxmox.emulator.ServerTls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ProxmoxBackend#validate()} checks the token's privileges at start, against the in-memory PVE
 * emulator (no LXC needed): nothing for a full token, one problem per privilege taken away with
 * {@code deny}, naming privilege, path and the {@code pveum} fix.
 */
class ProxmoxPrivilegesTest {
    private static final String NODE = "pve1";
    private static final String TOKEN_ID = "pve-cri@pve!cri";

    @TempDir
    Path dir;

    private PveEmulator pve;
    private PveClient client;
    private ProxmoxSection.Settings settings;

    @BeforeEach
    void start() throws IOException {
        TestCerts.Cert cert = TestCerts.localhost();
        String secret = UUID.randomUUID().toString();
        pve = PveEmulator.start(EmulatorConfig.builder(ServerTls.of(cert.keyStore(), TestCerts.PASSWORD))
                .nodes(NODE).token(TOKEN_ID, secret).authFailureDelay(Duration.ofMillis(20)).build());
        client = PveClient.create(PveClientConfig.builder(pve.uri(), new ApiToken(TOKEN_ID, secret),
                new TlsTrust.Fingerprint(cert.fingerprint())).requestTimeout(Duration.ofSeconds(10)).build());
        Path secretFile = Files.writeString(dir.resolve("token"), secret);
        settings = new ProxmoxSection.Settings(pve.uri(), NODE, TOKEN_ID, secretFile, cert.fingerprint(), null,
                "local", "local-zfs", 8, 900_000, 999_999, "pve-cri", dir.resolve("node"), 30, 4);
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        if (pve != null) {
            pve.close();
        }
    }

    private ProxmoxBackend backend() throws IOException {
        return new ProxmoxBackend(client, settings, dir.resolve("state"));
    }

    @Test
    void aTokenWithEveryPrivilegeHasNoProblems() throws IOException {
        assertEquals(List.of(), backend().validate());
    }

    @Test
    void eachMissingPrivilegeIsOneProblemWithItsPathAndFix() throws IOException {
        pve.cluster().deny("/vms", "VM.Clone");
        List<String> problems = backend().validate();
        assertEquals(List.of("the API token pve-cri@pve!cri lacks VM.Clone on /vms; grant it: pveum acl modify /vms"
                + " --tokens 'pve-cri@pve!cri' --roles PveCri (the PveCri role of docs/proxmox.md; with privsep the"
                + " token's user must hold it too)"), problems);
    }

    @Test
    void denialsOnParentPathsReachTheStoragesAndTheNodeAndStopTheDaemon() throws IOException {
        pve.cluster().deny("/storage", "Datastore.Audit");
        pve.cluster().deny("/nodes/" + NODE, "Sys.Audit");
        pve.cluster().deny("/vms/100", "VM.Allocate"); // below /vms: not what pve-cri checks
        List<String> problems = backend().validate();
        assertEquals(3, problems.size(), problems::toString);
        assertTrue(problems.get(0).startsWith("the API token pve-cri@pve!cri lacks Datastore.Audit on /storage/local;"), problems.get(0));
        assertTrue(problems.get(1).startsWith("the API token pve-cri@pve!cri lacks Datastore.Audit on /storage/local-zfs;"), problems.get(1));
        assertTrue(problems.get(2).contains("lacks Sys.Audit on /nodes/pve1; grant it: pveum acl modify /nodes/pve1 "), problems.get(2));

        IOException e = assertThrows(IOException.class, () -> ProxmoxWiring.backend(client, settings, dir.resolve("state")));
        assertTrue(e.getMessage().startsWith("the proxmox backend is not usable: " + problems.getFirst()), e.getMessage());
    }

    /** docs/proxmox.md's {@code pveum role add PveCri --privs "..."} holds exactly the privileges validate() checks. */
    @Test
    void theDocumentedRoleMatchesTheList() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "proxmox.md"));
        Matcher m = Pattern.compile("pveum role add " + RequiredPrivileges.ROLE + " --privs \"([^\"]+)\"").matcher(doc);
        assertTrue(m.find(), "docs/proxmox.md creates the " + RequiredPrivileges.ROLE + " role");
        assertEquals(RequiredPrivileges.all(), new LinkedHashSet<>(Arrays.asList(m.group(1).split(" "))));
    }
}
