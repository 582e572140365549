package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.config.ProxmoxSection;
import io.pvecri.proxmox.ApiToken;
import io.pvecri.proxmox.PveCallListener;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveClientConfig;
import io.pvecri.proxmox.TlsTrust;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Builds the PVE client and the proxmox backend from the config, and checks the node before serving. */
public final class ProxmoxWiring {
    private ProxmoxWiring() {}

    /** The client for {@code s}: token from its file, fingerprint pin or CA file, per-call metrics. */
    public static PveClient client(ProxmoxSection.Settings s, PveCallListener listener) {
        ApiToken token = ApiToken.fromFile(s.tokenId(), s.tokenSecretFile());
        TlsTrust trust = s.fingerprint() != null ? new TlsTrust.Fingerprint(s.fingerprint()) : new TlsTrust.CaFile(s.caFile());
        return PveClient.create(PveClientConfig.builder(s.url(), token, trust)
                .maxParallelMutationsPerNode(s.maxParallelMutations())
                .requestTimeout(Duration.ofSeconds(60))
                .listener(listener)
                .build());
    }

    /**
     * The backend, after checking that the API answers, the node and storages exist; a problem stops
     * the daemon with every problem listed.
     */
    public static ProxmoxBackend backend(PveClient client, ProxmoxSection.Settings s, Path stateDir) throws IOException {
        ProxmoxBackend backend = new ProxmoxBackend(client, s, stateDir);
        List<String> problems = backend.validate();
        if (!problems.isEmpty()) {
            throw new IOException("the proxmox backend is not usable: " + String.join("; ", problems));
        }
        return backend;
    }
}
