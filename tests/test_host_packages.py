"""What an app host installs: one list for user data and the apply document."""

from __future__ import annotations

import pytest

from components.host import nat_user_data
from components.host import packages as host_packages


def test_user_data_retries_longer_than_the_nat_instance_retries_its_own_install() -> None:
    # The NAT forwards only once its own install succeeded: the host must outwait it.
    host_window = host_packages.BOOT_INSTALL_ATTEMPTS * host_packages.BOOT_INSTALL_PAUSE_SECONDS
    nat_window = nat_user_data.INSTALL_ATTEMPTS * nat_user_data.INSTALL_PAUSE_SECONDS
    assert host_window >= 2 * nat_window


def test_boot_install_is_archive_packages_only() -> None:
    with pytest.raises(ValueError, match="archive packages only"):
        host_packages.retrying_apt_install(host_packages.PACKAGES)
