set -euo pipefail
sshd -T | sort
ufw status verbose
ls -la --time-style=+ /etc/ssh/sshd_config.d /etc/fail2ban/jail.d
sha256sum /etc/apt/apt.conf.d/20auto-upgrades
dpkg-query --show --showformat='${Package} ${db:Status-Abbrev}\n' python3-systemd || true
echo "fail2ban $(systemctl is-enabled fail2ban) $(systemctl is-active fail2ban || true)"
