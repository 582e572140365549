package io.pvecri.daemon.pod;

import io.pvecri.daemon.errors.CriException;
import io.pvecri.network.NetworkException;

/** Network failures as the daemon's typed errors (then mapped to gRPC by StatusMapper). */
final class NetworkErrors {
    private NetworkErrors() {}

    static CriException toCri(NetworkException e) {
        String m = "pod network: " + e.getMessage();
        return switch (e) {
            case NetworkException.InvalidRequest x -> CriException.invalid(m);
            case NetworkException.AddressExhausted x -> new CriException.ResourceExhausted(m);
            case NetworkException.PortConflict x -> CriException.alreadyExists(m);
            case NetworkException.NotReady x -> new CriException.Unavailable(m, e);
            case NetworkException.SetupFailed x -> CriException.internal(m, e);
            case NetworkException.StateError x -> CriException.internal(m, e);
        };
    }
}
