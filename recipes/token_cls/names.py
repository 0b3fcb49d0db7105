"""Word lists that fill the built-in NER sentences: given names, family names, places and organisation parts.

Written for this package (no download, no licence to track). Names come from many languages, with accents,
so the tokenizer and the character offsets meet more than ASCII. The generator splits every list into
disjoint train/val/test pools: the test split's people, places and organisations are never seen in training.
"""

FIRST_NAMES = """
Aaliyah Abebe Adaeze Adrian Agnieszka Ahmed Aiko Aisha Akira Alejandro Aleksander Alessandro Alice Amara Amir Ana
Anders Andrea Andrei Anika Anton Arjun Astrid Aurelio Ayesha Bartosz Beatriz Benedikt Bianca Björn Bongani Bruno
Camila Carlos Carmen Catalina Cecilia Chen Chiara Chidi Chloe Daniel Darius Dmitri Dolores Eamon Elena Elif Elijah
Emeka Emil Emma Enzo Esperanza Esther Fatima Federico Felipe Fernanda Finn Fiona Florian Francesca Freya Gabriel
Giulia Greta Guillermo Gustavo Hamid Hana Hannah Haruto Hassan Helga Henrik Hiroshi Hugo Ibrahim Ignacio Ilse
Imani Ingrid Irene Isabel Ivan Jakob Jamal Javier Jens Jia Joana Johan Jorge Jasmine Julia Kai Kamala Karim
Katarzyna Kenji Kofi Lars Laura Leila Lena Leon Liam Lina Lorenzo Lucas Lucia Ludmila Luis Magnus Manon
Marco Margarida Mariam Marta Mateo Matilda Mehmet Mei Mihai Mikhail Mira Mohammed Nadia Naledi Naoki Nasser
Nikolai Nina Noah Nora Obinna Olga Oliver Omar Oskar Pablo Paolo Patrice Pedro Petra Pilar Priya Rafael Rahul
Ramón Rania Rashid Renata Ricardo Rosa Ruth Sakura Salma Samuel Sanjay Sara Sebastian Selin Sergei Shira Simone
Sipho Sofia Soren Stefan Sunita Svetlana Takumi Tamar Tariq Teresa Thabo Tomás Tomasz Uma Valentina Vera Viktor
Wei Wiktoria Xavier Yara Yasmin Yusuf Zainab Zanele Zoltan Zoë Amadou Bogdan Cyrus Dagny Efua Farah Gideon Halima
Idris Joaquín Kalani Lucian Marisol Nkechi Orla Pranav Quentin Rukmini Saoirse Taiwo Ulrich Vikram Wanjiru Yosef
Ziad Anouk Benoît Clément Dalia Émilie Fabian Gunnar Hélène Ines Jules Kasia Lotte Maël Niamh Ólafur Paulina Rúben
"""

LAST_NAMES = """
Abara Abdullah Adeyemi Agarwal Almeida Alvarez Andersen Aoki Aranda Asante Bakker Banerjee Barros Bauer Becker
Bergström Bianchi Blanco Bogdanov Brandt Brennan Caruso Castillo Chatterjee Chowdhury Costa Cruz Dahl Da-Silva
Delgado Demir Diallo Dimitrov Dubois Duarte Eriksen Esposito Fernández Ferrari Fischer Fonseca Fontaine Fujita
Gallagher García Gomes Gonzaga Gupta Haddad Hakimi Halvorsen Hansen Hashemi Herrera Hoffmann Horvath Hussain
Ibrahimović Iglesias Ishikawa Ivanova Jansen Jensen Jiménez Kahn Kamau Kaplan Kapoor Karlsson Kaur Kawasaki
Keller Kim Kimura Koch Kovač Kowalski Kozlov Kruger Kumar Larsen Laurent Lindqvist Lombardi López Lund Machado
Malik Mancini Marković Martins Matsumoto Mazur Medina Mendes Mensah Meyer Moreau Morozov Müller Mwangi Nakamura
Navarro Ndlovu Nguyen Nielsen Novak Nowak Nunes Nwosu Odhiambo Ogunleye Okafor Okonkwo Olsen Ortega Osei Öztürk
Pacheco Park Patel Pereira Petrov Popescu Quispe Rahman Ramos Reddy Reyes Ricci Rinaldi Rojas Romano Rossi Sato
Schmidt Schneider Schulz Serrano Shah Silva Singh Sokolov Sousa Suzuki Svensson Tanaka Tavares Teixeira Torres
Toure Tran Tshabalala Vargas Vasquez Vogel Volkov Wagner Watanabe Weber Wolff Yamamoto Yilmaz Zhang Zhou Zielinski
Achterberg Balogun Cárdenas Dlamini Eze Falk Grünewald Heikkinen Iyer Jovanović Kiplagat Lindgren Mbeki Nakashima
Oyelaran Pellegrini Quaresma Rautio Szabó Takahashi Uchenna Vidal Wiśniewski Xu Yeboah Zapata Ødegaard Łukasiewicz
Boateng Castellanos Dufresne Engström Fitzgerald Gutiérrez Hämäläinen Ikeda Juárez Kowalczyk Lefebvre Mahlangu
"""

CITIES = """
Accra Addis-Ababa Adelaide Almaty Amsterdam Ankara Antwerp Asunción Athens Auckland Baku Bangalore Barcelona
Belgrade Bergen Bilbao Bogotá Bologna Bordeaux Brisbane Brno Bucharest Budapest Busan Cairo Calgary Cape-Town
Cartagena Casablanca Chennai Chicago Cologne Copenhagen Córdoba Dakar Dhaka Dortmund Dublin Durban Edinburgh
Florence Fukuoka Gdańsk Geneva Genoa Glasgow Gothenburg Graz Guadalajara Hamburg Hanoi Helsinki Hiroshima Houston
Ibadan Istanbul Izmir Jakarta Johannesburg Kampala Kano Karachi Kigali Kinshasa Kraków Kyoto Lagos Leeds Leipzig
Lima Lisbon Liverpool Ljubljana Lusaka Lyon Madrid Malmö Manila Marseille Medellín Melbourne Milan Minsk Mombasa
Montevideo Montreal Mumbai Munich Nagoya Nairobi Nantes Naples Nice Osaka Oslo Ottawa Palermo Perth Porto Poznań
Prague Pune Quito Rabat Recife Riga Rotterdam Salvador Santiago Sapporo Sarajevo Seville Sofia-City Split Stockholm
Stuttgart Surabaya Sydney Tallinn Tampere Tbilisi Thessaloniki Toronto Toulouse Trondheim Tunis Turin Utrecht
Valencia Valparaíso Vancouver Vienna Vilnius Warsaw Winnipeg Wrocław Yerevan Yokohama Zagreb Zaragoza Zürich
Aarhus Arequipa Bremen Coimbra Daegu Enugu Fez Galway Hobart Iquitos Jaipur Kumasi Lucerne Mendoza Nagpur Odense
Pécs Querétaro Rosario Salzburg Tartu Uppsala Verona Windhoek Xalapa Yazd Zanzibar Bruges Cusco Dresden Évora
"""

COUNTRIES = """
Argentina Australia Austria Belgium Brazil Bulgaria Canada Chile Colombia Croatia Denmark Egypt Estonia Ethiopia
Finland France Germany Ghana Greece Hungary Iceland India Indonesia Ireland Italy Japan Kenya Latvia Lithuania
Malaysia Mexico Morocco Nepal Netherlands Nigeria Norway Peru Poland Portugal Romania Rwanda Senegal Serbia
Slovenia Spain Sweden Switzerland Tanzania Thailand Tunisia Turkey Uganda Ukraine Uruguay Vietnam Zambia Zimbabwe
"""

# Organisation names are composed: a stem from these words (or a family name, or a city) and a shared suffix.
ORG_STEMS = """
Acorn Alder Altair Amber Apex Arcadia Argent Aster Atlas Aurora Axiom Banyan Beacon Bluefin Boreal Brightwater
Cedar Cinder Cobalt Comet Condor Copperleaf Coral Crescent Crimson Cypress Delta Driftwood Ember Emerald Equinox
Evergreen Falcon Fathom Fjord Flint Foxglove Galena Garnet Glacier Granite Harbor Hawthorn Helix Horizon Indigo
Iris Ironwood Jasper Juniper Kestrel Keystone Lantern Larch Lumen Lynx Magnolia Maple Meridian Mistral Monarch
Nimbus Northwind Oakridge Obsidian Onyx Orchid Osprey Pacifica Paragon Pinnacle Polaris Prism Quarry Quartz Raven
Redwood Ridgeline Sable Saffron Sapphire Sequoia Sierra Silverline Solstice Sparrow Starling Summit Tamarind Tandem
Tidewater Topaz Trellis Tundra Umber Vantage Vela Verdant Vertex Willow Windward Zenith Zephyr Birchwood Calyx
Dovetail Elmstead Fernhill Goldcrest Heron Ivyline Kingfisher Lodestar Moorland Nettle Opaline Pebble Quillon
"""

ORG_KINDS = """
Analytics Airlines Bank Biotech Brewing Capital Chemicals Consulting Dynamics Energy Engineering Foods Foundation
Freight Health Industries Insurance Labs Logistics Media Mining Motors Networks Pharma Robotics Shipping Software
Solar Steel Systems Telecom Textiles Therapeutics Ventures Water
"""

ORG_SUFFIXES = ("Inc.", "Ltd", "Group", "GmbH", "AG", "S.A.", "Holdings", "Corporation", "& Co.", "Partners", "PLC")

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def words(block: str) -> list[str]:
    """The names of a block, one per whitespace-separated word; a hyphen joins a two-word name ("Cape-Town")."""
    return sorted({word.replace("-", " ") for word in block.split()})
