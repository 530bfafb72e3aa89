"""Tables of the notificaciones service (it owns them alone). Its tables arrive with the issue that builds it."""
from sqlalchemy import MetaData

metadata = MetaData()
