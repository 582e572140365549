package io.pvecri.proxmox.emulator;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The emulator's TLS identity: a server {@link SSLContext} and the SHA-256 fingerprint of its
 * certificate in PVE's {@code AA:BB:…} form (reported as {@code ssl_fingerprint} by {@code GET /nodes}).
 *
 * @param context     server context
 * @param fingerprint leaf certificate fingerprint
 */
public record ServerTls(SSLContext context, String fingerprint) {

    public ServerTls {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(fingerprint, "fingerprint");
    }

    /** From a key store holding one private key entry (e.g. made with {@code keytool -genkeypair}). */
    public static ServerTls of(KeyStore keyStore, char[] password) {
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keyStore, password);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            Certificate cert = null;
            for (Enumeration<String> e = keyStore.aliases(); e.hasMoreElements(); ) {
                String alias = e.nextElement();
                if (keyStore.isKeyEntry(alias)) {
                    cert = keyStore.getCertificate(alias);
                    break;
                }
            }
            if (cert == null) {
                throw new IllegalArgumentException("keyStore: no private key entry");
            }
            String fp = HexFormat.ofDelimiter(":").withUpperCase()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
            return new ServerTls(ctx, fp);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("keyStore: " + e.getMessage(), e);
        }
    }
}
