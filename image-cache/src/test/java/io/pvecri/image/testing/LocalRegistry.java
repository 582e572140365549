package io.pvecri.image.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Debian's {@code docker-registry} (distribution 2.x, {@code /usr/bin/docker-registry serve CONFIG})
 * on 127.0.0.1 with a free port and a private temp dir, for pull tests. Optionally with htpasswd
 * basic auth ({@code htpasswd -B} from apache2-utils) or TLS with a self-made certificate.
 * {@link #close()} stops the process and deletes the directory.
 */
public final class LocalRegistry implements AutoCloseable {

    public static final Path BINARY = Path.of("/usr/bin/docker-registry");
    public static final Path HTPASSWD = Path.of("/usr/bin/htpasswd");

    private final Path dir;
    private final int port;
    private final Process process;
    private final Path certificate;

    private LocalRegistry(Path dir, int port, Process process, Path certificate) {
        this.dir = dir;
        this.port = port;
        this.process = process;
        this.certificate = certificate;
    }

    /** An open registry. */
    public static LocalRegistry start() {
        return start(null, null, false);
    }

    /** A registry that demands basic auth for {@code user}. */
    public static LocalRegistry startWithBasicAuth(String user, String password) {
        return start(user, password, false);
    }

    /** An open registry on HTTPS with a self-signed certificate for 127.0.0.1 ({@link #certificate()}). */
    public static LocalRegistry startWithTls() {
        return start(null, null, true);
    }

    private static LocalRegistry start(String user, String password, boolean tls) {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException(BINARY + " is missing: apt-get install -y docker-registry (deploy/setup-host.sh)");
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("pvecri-registry-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Process p = null;
        try {
            int port = freePort();
            StringBuilder cfg = new StringBuilder("""
                    version: 0.1
                    log:
                      level: error
                      accesslog:
                        disabled: true
                    storage:
                      filesystem:
                        rootdirectory: %s
                      delete:
                        enabled: true
                    http:
                      addr: 127.0.0.1:%d
                    """.formatted(dir.resolve("data"), port));
            Path cert = null;
            if (tls) {
                cert = dir.resolve("cert.pem");
                Path key = dir.resolve("key.pem");
                selfSignedCertificate(dir, cert, key);
                cfg.append("  tls:\n    certificate: ").append(cert).append("\n    key: ").append(key).append('\n');
            }
            if (user != null) {
                Path htpasswd = dir.resolve("htpasswd");
                if (!Files.isExecutable(HTPASSWD)) {
                    throw new IllegalStateException(HTPASSWD + " is missing: apt-get install -y apache2-utils");
                }
                run(List.of(HTPASSWD.toString(), "-Bbc", htpasswd.toString(), user, password));
                cfg.append("auth:\n  htpasswd:\n    realm: pve-cri-test\n    path: ").append(htpasswd).append('\n');
            }
            Path config = dir.resolve("config.yml");
            Files.writeString(config, cfg);
            p = new ProcessBuilder(BINARY.toString(), "serve", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("registry.log").toFile())
                    .start();
            LocalRegistry r = new LocalRegistry(dir, port, p, cert);
            r.awaitReady(tls);
            return r;
        } catch (IOException | RuntimeException e) {
            if (p != null) {
                p.destroyForcibly();
            }
            String log = readQuietly(dir.resolve("registry.log"));
            deleteTree(dir);
            throw new IllegalStateException("cannot start docker-registry: " + e + "\n" + log, e);
        }
    }

    private void awaitReady(boolean tls) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1));
        if (tls) {
            b.sslContext(trustAll());
        }
        try (HttpClient http = b.build()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("docker-registry exited with " + process.exitValue());
                }
                try {
                    int s = http.send(HttpRequest.newBuilder(URI.create((tls ? "https" : "http") + "://" + authority() + "/v2/"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
                    if (s == 200 || s == 401) {
                        return;
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException("docker-registry did not answer on " + authority() + " within 15 s");
    }

    /** {@code 127.0.0.1:<port>}. */
    public String authority() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The registry's PEM certificate (TLS registries only). */
    public Path certificate() {
        return certificate;
    }

    /** What the registry printed (errors only). */
    public String log() {
        return readQuietly(dir.resolve("registry.log"));
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        deleteTree(dir);
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** A port that was free a moment ago on 127.0.0.1. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A self-signed EC certificate for 127.0.0.1 made with the JDK's keytool, as PEM files. */
    static void selfSignedCertificate(Path dir, Path certPem, Path keyPem) throws IOException {
        Path ks = dir.resolve("tls.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(List.of(keytool, "-genkeypair", "-alias", "registry", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", ks.toString(),
                "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit"));
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(ks)) {
                store.load(in, "changeit".toCharArray());
            }
            Key key = store.getKey("registry", "changeit".toCharArray());
            Certificate cert = store.getCertificate("registry");
            Files.writeString(keyPem, pem("PRIVATE KEY", key.getEncoded()));
            Files.writeString(certPem, pem("CERTIFICATE", cert.getEncoded()));
        } catch (Exception e) {
            throw new IOException("cannot write the test certificate: " + e, e);
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    static javax.net.ssl.SSLContext trustAll() {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, new javax.net.ssl.TrustManager[]{new javax.net.ssl.X509ExtendedTrustManager() {
                @Override public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a, java.net.Socket s) { }
                @Override public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a, java.net.Socket s) { }
                @Override public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) { }
                @Override public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) { }
                @Override public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) { }
                @Override public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) { }
                @Override public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                    return new java.security.cert.X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(cmd.getFirst() + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> all = new ArrayList<>(s.sorted(Comparator.reverseOrder()).toList());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("cannot delete " + dir + ": " + e);
        }
    }
}
