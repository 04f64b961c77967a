/// Shared helpers for the test targets: upstream stub, token factory, gateway launcher.
public enum PortcullisTestSupport {}
