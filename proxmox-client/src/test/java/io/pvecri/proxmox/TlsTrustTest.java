package io.pvecri.proxmox;

import io.pvecri.proxmox.emulator.EmulatorConfig;
import io.pvecri.proxmox.emulator.PveEmulator;
import io.pvecri.proxmox.emulator.ServerTls;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TlsTrustTest {

    private static final String SECRET = "5f0d7a1e-2c7b-4f9e-9d3a-3a2b1c0d9e8f";

    private static PveEmulator emulator(TestCerts.Cert cert) {
        return PveEmulator.start(EmulatorConfig.builder(ServerTls.of(cert.keyStore(), TestCerts.PASSWORD))
                .token(Fixture.TOKEN_ID, SECRET).build());
    }

    private static PveClient client(URI uri, TlsTrust trust) {
        return PveClient.create(PveClientConfig.builder(uri, new ApiToken(Fixture.TOKEN_ID, SECRET), trust).readAttempts(1).build());
    }

    @Test
    void pinnedFingerprintIsAcceptedWithoutHostnameCheck() {
        // the certificate names only "pve1"; we dial 127.0.0.1: the pin alone authenticates the peer
        TestCerts.Cert cert = TestCerts.otherHost();
        try (PveEmulator pve = emulator(cert); PveClient c = client(pve.uri(), new TlsTrust.Fingerprint(cert.fingerprint()))) {
            assertEquals("9.1.2", c.version().version());
            List<NodeInfo> nodes = c.nodes();
            assertEquals(cert.fingerprint(), nodes.getFirst().sslFingerprint(), "GET /nodes reports the pinned fingerprint");
        }
    }

    @Test
    void fingerprintIsAcceptedInAnyNotation() {
        TestCerts.Cert cert = TestCerts.localhost();
        String bare = cert.fingerprint().replace(":", "").toLowerCase(java.util.Locale.ROOT);
        try (PveEmulator pve = emulator(cert); PveClient c = client(pve.uri(), new TlsTrust.Fingerprint(bare))) {
            assertEquals("9.1", c.version().release());
        }
    }

    @Test
    void wrongFingerprintIsRejected() {
        TestCerts.Cert cert = TestCerts.localhost();
        String wrong = TestCerts.otherHost().fingerprint();
        try (PveEmulator pve = emulator(cert); PveClient c = client(pve.uri(), new TlsTrust.Fingerprint(wrong))) {
            var e = assertThrows(PveException.TlsFailure.class, c::version);
            assertTrue(e.getMessage().contains("does not match the pinned fingerprint " + wrong), e.getMessage());
            assertTrue(e.getMessage().contains(cert.fingerprint()), e.getMessage());
        }
    }

    @Test
    void caFileTrustsAndVerifiesHostname() {
        TestCerts.Cert good = TestCerts.localhost();
        try (PveEmulator pve = emulator(good); PveClient c = client(pve.uri(), new TlsTrust.CaFile(good.pem()))) {
            assertEquals("9.1.2", c.version().version());
        }
        // right CA, but the certificate does not name 127.0.0.1: hostname verification is on with a CA
        TestCerts.Cert other = TestCerts.otherHost();
        try (PveEmulator pve = emulator(other); PveClient c = client(pve.uri(), new TlsTrust.CaFile(other.pem()))) {
            assertThrows(PveException.TlsFailure.class, c::version);
        }
    }

    @Test
    void systemTrustRejectsSelfSignedCertificates() {
        try (PveEmulator pve = emulator(TestCerts.localhost()); PveClient c = client(pve.uri(), new TlsTrust.SystemDefault())) {
            assertThrows(PveException.TlsFailure.class, c::version);
        }
    }

    @Test
    void malformedFingerprintIsRefusedUpFront() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TlsTrust.Fingerprint("AA:BB"));
        assertTrue(e.getMessage().startsWith("fingerprint:"));
    }
}
