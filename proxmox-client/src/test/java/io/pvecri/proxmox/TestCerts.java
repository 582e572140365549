package io.pvecri.proxmox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Self-signed certificates for the test HTTPS servers, made once per JVM with the running JDK's
 * {@code keytool -genkeypair} (like PVE's own self-signed node certificates).
 */
public final class TestCerts {

    public static final char[] PASSWORD = "changeit".toCharArray();
    private static final Map<String, Cert> CACHE = new ConcurrentHashMap<>();

    /** A key store, its certificate's PVE-style fingerprint, and the certificate as PEM. */
    public record Cert(KeyStore keyStore, String fingerprint, Path pem) {
    }

    private TestCerts() {
    }

    /** A certificate for CN=pve1 with SANs dns:pve1, dns:localhost, ip:127.0.0.1. */
    public static Cert localhost() {
        return CACHE.computeIfAbsent("localhost", k -> generate("pve1", "dns:pve1,dns:localhost,ip:127.0.0.1"));
    }

    /** A certificate naming only {@code pve1}: fails hostname verification for 127.0.0.1. */
    public static Cert otherHost() {
        return CACHE.computeIfAbsent("other", k -> generate("pve1", "dns:pve1"));
    }

    private static Cert generate(String cn, String san) {
        try {
            Path dir = Files.createTempDirectory("pvecri-certs");
            // The PEM serves as a CA file for the whole test JVM; the directory goes when it exits.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            Path p12 = dir.resolve("node.p12");
            String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
            run(List.of(keytool, "-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1",
                    "-sigalg", "SHA256withECDSA", "-dname", "CN=" + cn + ",OU=PVE Cluster Node,O=Proxmox Virtual Environment",
                    "-ext", "SAN=" + san, "-validity", "30", "-storetype", "PKCS12", "-keystore", p12.toString(),
                    "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD)));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(p12)) {
                ks.load(in, PASSWORD);
            }
            Certificate cert = ks.getCertificate("node");
            String fp = HexFormat.ofDelimiter(":").withUpperCase()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
            Path pem = dir.resolve("node.pem");
            Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
                    + "\n-----END CERTIFICATE-----\n");
            return new Cert(ks, fp, pem);
        } catch (Exception e) {
            throw new IllegalStateException("cannot generate a test certificate: " + e, e);
        }
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // Best effort at JVM exit.
        }
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool failed: " + out);
        }
    }
}
