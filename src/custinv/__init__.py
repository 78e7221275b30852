"""custinv — customer stocktakes (客户盘点) from CRM and shop exports."""

__version__ = "0.1.0"
