"""ISO 4217 currencies and their minor units: how many decimals an amount in each may carry.

    currency("JPY").exponent == 0        # 1500 yen, no fraction
    currency("USD").exponent == 2        # cents
    currency("KWD").exponent == 3        # fils
    currency("CLF").exponent == 4

`CURRENCIES` holds every code of ISO 4217 list one that has a minor unit (the active national currencies and
the funds codes such as BOV, CLF, COU, USN, UYI, UYW), with the exponent the standard gives it, also where
everyday practice rounds further (HUF, IDR and ISK trade in whole units, but ISO gives HUF and IDR two decimals
and the hub follows ISO: an amount the standard allows is never refused). Two recent additions (XCG, the
Caribbean guilder, and ZWG, Zimbabwe Gold) are listed beside the codes they replace (ANG, ZWL), since exports
carry both while the change-over lasts.

Refused, each with a message naming the code: anything that is not three letters, a code ISO 4217 does not
list, the codes without a minor unit (precious metals XAU, XAG, XPT, XPD, units of account XDR, XSU, XUA, the
bond market units XBA to XBD, the testing code XTS and XXX: no spend is paid in them), and withdrawn codes
(HRK and the like), naming the code that replaced them. Codes compare upper case: " usd" reads as USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from shared.errors import InvalidInput

__all__ = ["CURRENCIES", "Currency", "UnknownCurrency", "currency", "is_currency"]

# code -> (minor unit exponent, ISO 4217 name)
_TABLE: dict[str, tuple[int, str]] = {
    "AED": (2, "UAE Dirham"),
    "AFN": (2, "Afghani"),
    "ALL": (2, "Lek"),
    "AMD": (2, "Armenian Dram"),
    "ANG": (2, "Netherlands Antillean Guilder"),
    "AOA": (2, "Kwanza"),
    "ARS": (2, "Argentine Peso"),
    "AUD": (2, "Australian Dollar"),
    "AWG": (2, "Aruban Florin"),
    "AZN": (2, "Azerbaijan Manat"),
    "BAM": (2, "Convertible Mark"),
    "BBD": (2, "Barbados Dollar"),
    "BDT": (2, "Taka"),
    "BGN": (2, "Bulgarian Lev"),
    "BHD": (3, "Bahraini Dinar"),
    "BIF": (0, "Burundi Franc"),
    "BMD": (2, "Bermudian Dollar"),
    "BND": (2, "Brunei Dollar"),
    "BOB": (2, "Boliviano"),
    "BOV": (2, "Mvdol"),
    "BRL": (2, "Brazilian Real"),
    "BSD": (2, "Bahamian Dollar"),
    "BTN": (2, "Ngultrum"),
    "BWP": (2, "Pula"),
    "BYN": (2, "Belarusian Ruble"),
    "BZD": (2, "Belize Dollar"),
    "CAD": (2, "Canadian Dollar"),
    "CDF": (2, "Congolese Franc"),
    "CHE": (2, "WIR Euro"),
    "CHF": (2, "Swiss Franc"),
    "CHW": (2, "WIR Franc"),
    "CLF": (4, "Unidad de Fomento"),
    "CLP": (0, "Chilean Peso"),
    "CNY": (2, "Yuan Renminbi"),
    "COP": (2, "Colombian Peso"),
    "COU": (2, "Unidad de Valor Real"),
    "CRC": (2, "Costa Rican Colon"),
    "CUC": (2, "Peso Convertible"),
    "CUP": (2, "Cuban Peso"),
    "CVE": (2, "Cabo Verde Escudo"),
    "CZK": (2, "Czech Koruna"),
    "DJF": (0, "Djibouti Franc"),
    "DKK": (2, "Danish Krone"),
    "DOP": (2, "Dominican Peso"),
    "DZD": (2, "Algerian Dinar"),
    "EGP": (2, "Egyptian Pound"),
    "ERN": (2, "Nakfa"),
    "ETB": (2, "Ethiopian Birr"),
    "EUR": (2, "Euro"),
    "FJD": (2, "Fiji Dollar"),
    "FKP": (2, "Falkland Islands Pound"),
    "GBP": (2, "Pound Sterling"),
    "GEL": (2, "Lari"),
    "GHS": (2, "Ghana Cedi"),
    "GIP": (2, "Gibraltar Pound"),
    "GMD": (2, "Dalasi"),
    "GNF": (0, "Guinean Franc"),
    "GTQ": (2, "Quetzal"),
    "GYD": (2, "Guyana Dollar"),
    "HKD": (2, "Hong Kong Dollar"),
    "HNL": (2, "Lempira"),
    "HTG": (2, "Gourde"),
    "HUF": (2, "Forint"),
    "IDR": (2, "Rupiah"),
    "ILS": (2, "New Israeli Sheqel"),
    "INR": (2, "Indian Rupee"),
    "IQD": (3, "Iraqi Dinar"),
    "IRR": (2, "Iranian Rial"),
    "ISK": (0, "Iceland Krona"),
    "JMD": (2, "Jamaican Dollar"),
    "JOD": (3, "Jordanian Dinar"),
    "JPY": (0, "Yen"),
    "KES": (2, "Kenyan Shilling"),
    "KGS": (2, "Som"),
    "KHR": (2, "Riel"),
    "KMF": (0, "Comorian Franc"),
    "KPW": (2, "North Korean Won"),
    "KRW": (0, "Won"),
    "KWD": (3, "Kuwaiti Dinar"),
    "KYD": (2, "Cayman Islands Dollar"),
    "KZT": (2, "Tenge"),
    "LAK": (2, "Lao Kip"),
    "LBP": (2, "Lebanese Pound"),
    "LKR": (2, "Sri Lanka Rupee"),
    "LRD": (2, "Liberian Dollar"),
    "LSL": (2, "Loti"),
    "LYD": (3, "Libyan Dinar"),
    "MAD": (2, "Moroccan Dirham"),
    "MDL": (2, "Moldovan Leu"),
    "MGA": (2, "Malagasy Ariary"),
    "MKD": (2, "Denar"),
    "MMK": (2, "Kyat"),
    "MNT": (2, "Tugrik"),
    "MOP": (2, "Pataca"),
    "MRU": (2, "Ouguiya"),
    "MUR": (2, "Mauritius Rupee"),
    "MVR": (2, "Rufiyaa"),
    "MWK": (2, "Malawi Kwacha"),
    "MXN": (2, "Mexican Peso"),
    "MXV": (2, "Mexican Unidad de Inversion (UDI)"),
    "MYR": (2, "Malaysian Ringgit"),
    "MZN": (2, "Mozambique Metical"),
    "NAD": (2, "Namibia Dollar"),
    "NGN": (2, "Naira"),
    "NIO": (2, "Cordoba Oro"),
    "NOK": (2, "Norwegian Krone"),
    "NPR": (2, "Nepalese Rupee"),
    "NZD": (2, "New Zealand Dollar"),
    "OMR": (3, "Rial Omani"),
    "PAB": (2, "Balboa"),
    "PEN": (2, "Sol"),
    "PGK": (2, "Kina"),
    "PHP": (2, "Philippine Peso"),
    "PKR": (2, "Pakistan Rupee"),
    "PLN": (2, "Zloty"),
    "PYG": (0, "Guarani"),
    "QAR": (2, "Qatari Rial"),
    "RON": (2, "Romanian Leu"),
    "RSD": (2, "Serbian Dinar"),
    "RUB": (2, "Russian Ruble"),
    "RWF": (0, "Rwanda Franc"),
    "SAR": (2, "Saudi Riyal"),
    "SBD": (2, "Solomon Islands Dollar"),
    "SCR": (2, "Seychelles Rupee"),
    "SDG": (2, "Sudanese Pound"),
    "SEK": (2, "Swedish Krona"),
    "SGD": (2, "Singapore Dollar"),
    "SHP": (2, "Saint Helena Pound"),
    "SLE": (2, "Leone"),
    "SLL": (2, "Leone"),
    "SOS": (2, "Somali Shilling"),
    "SRD": (2, "Surinam Dollar"),
    "SSP": (2, "South Sudanese Pound"),
    "STN": (2, "Dobra"),
    "SVC": (2, "El Salvador Colon"),
    "SYP": (2, "Syrian Pound"),
    "SZL": (2, "Lilangeni"),
    "THB": (2, "Baht"),
    "TJS": (2, "Somoni"),
    "TMT": (2, "Turkmenistan New Manat"),
    "TND": (3, "Tunisian Dinar"),
    "TOP": (2, "Pa'anga"),
    "TRY": (2, "Turkish Lira"),
    "TTD": (2, "Trinidad and Tobago Dollar"),
    "TWD": (2, "New Taiwan Dollar"),
    "TZS": (2, "Tanzanian Shilling"),
    "UAH": (2, "Hryvnia"),
    "UGX": (0, "Uganda Shilling"),
    "USD": (2, "US Dollar"),
    "USN": (2, "US Dollar (Next day)"),
    "UYI": (0, "Uruguay Peso en Unidades Indexadas (UI)"),
    "UYU": (2, "Peso Uruguayo"),
    "UYW": (4, "Unidad Previsional"),
    "UZS": (2, "Uzbekistan Sum"),
    "VED": (2, "Bolívar Soberano"),
    "VES": (2, "Bolívar Soberano"),
    "VND": (0, "Dong"),
    "VUV": (0, "Vatu"),
    "WST": (2, "Tala"),
    "XAF": (0, "CFA Franc BEAC"),
    "XCD": (2, "East Caribbean Dollar"),
    "XCG": (2, "Caribbean Guilder"),
    "XOF": (0, "CFA Franc BCEAO"),
    "XPF": (0, "CFP Franc"),
    "YER": (2, "Yemeni Rial"),
    "ZAR": (2, "Rand"),
    "ZMW": (2, "Zambian Kwacha"),
    "ZWG": (2, "Zimbabwe Gold"),
    "ZWL": (2, "Zimbabwe Dollar"),
}

# codes ISO 4217 lists without a minor unit ("N.A."): not money the hub records
_NO_MINOR_UNIT: dict[str, str] = {
    "XAG": "silver",
    "XAU": "gold",
    "XPD": "palladium",
    "XPT": "platinum",
    "XBA": "a bond markets unit",
    "XBB": "a bond markets unit",
    "XBC": "a bond markets unit",
    "XBD": "a bond markets unit",
    "XDR": "the IMF special drawing right",
    "XSU": "the SUCRE unit of account",
    "XUA": "the ADB unit of account",
    "XTS": "reserved for testing",
    "XXX": "the code for no currency",
}

# withdrawn codes still seen in old exports -> the code that replaced them
_WITHDRAWN: dict[str, str] = {
    "BYR": "BYN",
    "EEK": "EUR",
    "HRK": "EUR",
    "LTL": "EUR",
    "LVL": "EUR",
    "MRO": "MRU",
    "SKK": "EUR",
    "STD": "STN",
    "VEF": "VES",
    "ZMK": "ZMW",
}


class UnknownCurrency(InvalidInput):
    """Not an ISO 4217 currency the hub records money in; the message names the code (and the field)."""

    def __init__(self, code: object, reason: str, field: str | None = None) -> None:
        self.code = code
        self.field = field
        subject = f"{field}: " if field else ""
        shown = f'"{code}"' if isinstance(code, str) else repr(code)
        super().__init__(f"{subject}{shown} {reason}")


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency: `code` (upper case), `exponent` (decimals of its minor unit) and `name`."""

    code: str
    exponent: int
    name: str

    @property
    def minor_per_major(self) -> int:
        """How many minor units make one major unit: 100 for USD, 1 for JPY, 1000 for KWD."""
        return 10**self.exponent

    @classmethod
    def of(cls, code: object, *, field: str | None = None) -> Currency:
        """The currency of that code; `UnknownCurrency` naming the code (and `field`) when there is none."""
        return currency(code, field=field)


CURRENCIES: MappingProxyType[str, Currency] = MappingProxyType(
    {code: Currency(code, exponent, name) for code, (exponent, name) in sorted(_TABLE.items())}
)


def currency(code: object, *, field: str | None = None) -> Currency:
    """The currency of an ISO 4217 code (surrounding spaces and case ignored). Raises `UnknownCurrency` naming
    the code, and `field` when given, for anything that is not a currency with a minor unit."""
    if not isinstance(code, str):
        raise UnknownCurrency(code, "is not a currency code: write the ISO 4217 code as text, e.g. USD", field)
    wanted = code.strip().upper()
    found = CURRENCIES.get(wanted)
    if found is not None:
        return found
    shown = code if len(code) <= 40 else code[:40] + "..."
    if len(wanted) != 3 or not wanted.isascii() or not wanted.isalpha():
        raise UnknownCurrency(shown, "is not an ISO 4217 currency code (three letters, e.g. USD, EUR, JPY)", field)
    if wanted in _NO_MINOR_UNIT:
        raise UnknownCurrency(
            wanted, f"is {_NO_MINOR_UNIT[wanted]}: ISO 4217 gives it no minor unit, spend is not recorded in it", field
        )
    if wanted in _WITHDRAWN:
        raise UnknownCurrency(wanted, f"was withdrawn from ISO 4217: use {_WITHDRAWN[wanted]}", field)
    raise UnknownCurrency(wanted, "is not an ISO 4217 currency code", field)


def is_currency(code: object) -> bool:
    """Whether `currency(code)` would succeed."""
    return isinstance(code, str) and code.strip().upper() in CURRENCIES
