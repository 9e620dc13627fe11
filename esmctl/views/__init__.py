"""Views: how a result is shown. They read results and print; they decide nothing."""
