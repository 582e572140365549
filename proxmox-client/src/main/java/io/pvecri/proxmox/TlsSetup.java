package io.pvecri.proxmox;

import okhttp3.OkHttpClient;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;

/** Applies a {@link TlsTrust} to an OkHttp client builder. */
final class TlsSetup {

    private TlsSetup() {
    }

    static void apply(OkHttpClient.Builder builder, TlsTrust trust) {
        switch (trust) {
            case TlsTrust.Fingerprint f -> {
                X509TrustManager tm = new PinningTrustManager(f);
                builder.sslSocketFactory(context(tm).getSocketFactory(), tm);
                // The pin authenticates the peer; PVE node certificates name the node, not what we dial.
                builder.hostnameVerifier((host, session) -> true);
            }
            case TlsTrust.CaFile ca -> {
                X509TrustManager tm = caTrustManager(ca);
                builder.sslSocketFactory(context(tm).getSocketFactory(), tm);
            }
            case TlsTrust.SystemDefault d -> {
                // OkHttp defaults: platform trust store, hostname verification on.
            }
        }
    }

    private static SSLContext context(X509TrustManager tm) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {tm}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot initialise TLS: " + e.getMessage(), e);
        }
    }

    private static X509TrustManager caTrustManager(TlsTrust.CaFile ca) {
        try (InputStream in = Files.newInputStream(ca.pem())) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("CA file " + ca.pem() + ": no PEM certificate found");
            }
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : certs) {
                ks.setCertificateEntry("ca-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("no X509TrustManager from " + tmf.getAlgorithm());
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("CA file " + ca.pem() + ": " + e.getMessage(), e);
        }
    }
}
