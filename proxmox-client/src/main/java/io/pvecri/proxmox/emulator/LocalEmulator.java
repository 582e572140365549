package io.pvecri.proxmox.emulator;

import io.pvecri.proxmox.node.NodeFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A stand-alone emulated PVE node that runs its CTs for real, for trying pve-cri's proxmox backend
 * without a PVE node: one node ({@value #NODE}) with storages {@code local} (templates) and
 * {@code local-zfs} (CT volumes), everything kept in a state directory (see {@link RealNode}), and the
 * identity a client needs, made on first start and reused afterwards:
 * <ul>
 * <li>a self-signed TLS certificate, {@code etc/pve/nodes/<node>/pve-ssl.p12} (key store, password
 * {@value #KEYSTORE_PASSWORD}, file mode 0600) and {@code pve-ssl.pem} (the certificate);</li>
 * <li>one API token {@value #TOKEN_ID} with a random UUID secret, in {@code etc/pve/priv/token.cfg}
 * ({@code <tokenid> <secret>} lines, as PVE keeps them; mode 0600).</li>
 * </ul>
 * Needs root and LXC. CTs keep running when the emulator stops; a later start on the same directory
 * finds them again.
 *
 * <pre>{@code
 * try (LocalEmulator pve = LocalEmulator.start(Path.of("/var/lib/pve-emu"), "127.0.0.1:8006")) {
 *     System.out.println("url=" + pve.url() + " fingerprint=" + pve.fingerprint());
 *     System.out.println("token=" + pve.tokenId() + "=" + pve.secret());
 * }
 * }</pre>
 */
public final class LocalEmulator implements AutoCloseable {

    public static final String NODE = "pve-emu";
    public static final String TOKEN_ID = "pve-cri@pve!cri";
    public static final String KEYSTORE_PASSWORD = "pve-emulator";
    /** The next-id range (datacenter.cfg {@code next-id}), PVE's defaults. */
    public static final int VMID_LOWER = 100;
    public static final int VMID_UPPER = 1_000_000;

    private final PveEmulator emulator;
    private final Path stateDir;
    private final String secret;
    private final Path certificate;

    private LocalEmulator(PveEmulator emulator, Path stateDir, String secret, Path certificate) {
        this.emulator = emulator;
        this.stateDir = stateDir;
        this.secret = secret;
        this.certificate = certificate;
    }

    /**
     * Starts (or restarts) the emulator on {@code stateDir}, listening on {@code listen}
     * ({@code 127.0.0.1:8006}, {@code [::1]:8006}; port 0 picks a free one).
     */
    public static LocalEmulator start(Path stateDir, String listen) {
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(listen, "listen");
        int colon = listen.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("listen: expected HOST:PORT, e.g. 127.0.0.1:8006, got '" + listen + "'");
        }
        String host = listen.substring(0, colon).replaceAll("^\\[|]$", "");
        int port;
        try {
            port = Integer.parseInt(listen.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("listen: bad port in '" + listen + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("listen: bad port in '" + listen + "'");
        }
        Path root = stateDir.toAbsolutePath().normalize();
        try {
            Path nodeDir = root.resolve("etc/pve/nodes").resolve(NODE);
            Files.createDirectories(nodeDir);
            Path p12 = nodeDir.resolve("pve-ssl.p12");
            Path pem = nodeDir.resolve("pve-ssl.pem");
            if (!Files.exists(p12)) {
                generateCertificate(p12, host);
            }
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(p12)) {
                ks.load(in, KEYSTORE_PASSWORD.toCharArray());
            }
            writePem(ks, pem);
            String secret = token(root);
            EmulatorConfig config = EmulatorConfig.builder(ServerTls.of(ks, KEYSTORE_PASSWORD.toCharArray()))
                    .nodes(NODE).token(TOKEN_ID, secret).port(port).listenHost(host).stateDir(root)
                    .taskDuration(Duration.ZERO).nextIdRange(VMID_LOWER, VMID_UPPER).build();
            return new LocalEmulator(PveEmulator.start(config), root, secret, pem);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the PVE emulator on " + root + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the emulator's TLS key: " + e.getMessage(), e);
        }
    }

    /** {@code https://HOST:PORT} (clients append {@code /api2/json}). */
    public URI url() {
        return emulator.uri();
    }

    public String node() {
        return NODE;
    }

    /** SHA-256 fingerprint of the TLS certificate, colon-separated upper-case hex (PVE's notation). */
    public String fingerprint() {
        return emulator.config().tls().fingerprint();
    }

    /** The certificate as PEM, usable as a CA file. */
    public Path certificate() {
        return certificate;
    }

    public String tokenId() {
        return TOKEN_ID;
    }

    public String secret() {
        return secret;
    }

    /** Where the node keeps CT configs, their flocks and the LXC path, as pve-cri's backend edits them. */
    public NodeFiles nodeFiles() {
        return NodeFiles.under(stateDir);
    }

    public Path stateDir() {
        return stateDir;
    }

    public int vmidLower() {
        return VMID_LOWER;
    }

    public int vmidUpper() {
        return VMID_UPPER;
    }

    public PveEmulator emulator() {
        return emulator;
    }

    /** Stops serving; CTs keep running. */
    @Override
    public void close() {
        emulator.close();
    }

    private static String token(Path root) throws IOException {
        Path priv = root.resolve("etc/pve/priv");
        Files.createDirectories(priv);
        Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rwx------"));
        Path cfg = priv.resolve("token.cfg");
        if (Files.exists(cfg)) {
            for (String line : Files.readAllLines(cfg)) {
                String[] f = line.strip().split("\\s+");
                if (f.length == 2 && f[0].equals(TOKEN_ID)) {
                    return f[1];
                }
            }
        }
        String secret = UUID.randomUUID().toString();
        Path tmp = priv.resolve(".token.cfg.tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        List<String> lines = new ArrayList<>(Files.exists(cfg) ? Files.readAllLines(cfg) : List.of());
        lines.add(TOKEN_ID + " " + secret);
        Files.write(tmp, lines);
        Files.move(tmp, cfg, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return secret;
    }

    /** A self-signed EC certificate made by the running JDK's keytool, like PVE's own node certificate. */
    private static void generateCertificate(Path p12, String host) throws IOException {
        List<String> san = new ArrayList<>(List.of("dns:" + NODE, "dns:localhost", "ip:127.0.0.1", "ip:::1"));
        try {
            InetAddress a = InetAddress.getByName(host);
            if (!a.isLoopbackAddress() && !a.isAnyLocalAddress()) {
                san.add("ip:" + a.getHostAddress());
            }
        } catch (IOException e) {
            // not an address: the pinned fingerprint authenticates the server anyway
        }
        if (!host.matches("[0-9.:]+") && !host.equals("localhost")) {
            san.add("dns:" + host);
        }
        Path tmp = p12.resolveSibling(".pve-ssl.p12.tmp");
        Files.deleteIfExists(tmp);
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        List<String> cmd = List.of(keytool, "-genkeypair", "-alias", "pve-ssl", "-keyalg", "EC", "-groupname", "secp256r1",
                "-sigalg", "SHA256withECDSA", "-dname", "CN=" + NODE + ",OU=PVE Cluster Node,O=Proxmox Virtual Environment",
                "-ext", "SAN=" + String.join(",", san), "-validity", "3650", "-storetype", "PKCS12",
                "-keystore", tmp.toString(), "-storepass", KEYSTORE_PASSWORD, "-keypass", KEYSTORE_PASSWORD);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("keytool failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while generating the certificate");
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
        Files.move(tmp, p12, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static void writePem(KeyStore ks, Path pem) throws IOException, GeneralSecurityException {
        Certificate cert = ks.getCertificate("pve-ssl");
        if (cert == null) {
            throw new GeneralSecurityException("no certificate 'pve-ssl' in the key store");
        }
        String text = "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
        if (!Files.exists(pem) || !Files.readString(pem).equals(text)) {
            Files.writeString(pem, text);
        }
    }
}
