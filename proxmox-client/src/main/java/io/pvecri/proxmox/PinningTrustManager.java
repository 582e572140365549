package io.pvecri.proxmox;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

/**
 * Trusts exactly one server certificate: the leaf whose SHA-256 fingerprint (over the DER encoding,
 * as {@code openssl x509 -fingerprint -sha256} and {@code pvenode cert info} compute it) equals the pin.
 * Chain, validity dates and host name are not checked: the pin is the identity, which is what PVE's
 * self-signed per-node certificates call for. Extends {@link X509ExtendedTrustManager} so JSSE uses it
 * as is (a plain X509TrustManager gets wrapped with extra checks).
 */
final class PinningTrustManager extends X509ExtendedTrustManager {

    private final byte[] pin;
    private final String pinText;

    PinningTrustManager(TlsTrust.Fingerprint fingerprint) {
        this.pin = fingerprint.bytes();
        this.pinText = fingerprint.sha256();
    }

    static String fingerprintOf(X509Certificate cert) throws CertificateEncodingException {
        try {
            return TlsTrust.Fingerprint.format(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("server sent no certificate");
        }
        String actual = fingerprintOf(chain[0]);
        byte[] actualBytes = new TlsTrust.Fingerprint(actual).bytes();
        if (!MessageDigest.isEqual(pin, actualBytes)) {
            throw new CertificateException("server certificate fingerprint " + actual
                    + " does not match the pinned fingerprint " + pinText);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("client certificates are not accepted");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("client certificates are not accepted");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("client certificates are not accepted");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
