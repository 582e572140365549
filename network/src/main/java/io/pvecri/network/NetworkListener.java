package io.pvecri.network;

/** Receives one {@link NetworkEvent} per setUp/tearDown/reconcile. Must not block or throw. */
@FunctionalInterface
public interface NetworkListener {
    void onEvent(NetworkEvent event);

    NetworkListener NONE = e -> { };
}
