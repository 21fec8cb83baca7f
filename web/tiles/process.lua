-- What the driver app's base map keeps of OpenStreetMap: roads (by class), water, and the
-- names of towns and villages. Nothing else: the map must not show more than the run needs.
node_keys = { "place" }

function node_function(node)
	local place = node:Find("place")
	if place == "city" or place == "town" or place == "village" or place == "hamlet" then
		node:Layer("places", false)
		node:Attribute("class", place)
		node:Attribute("name", node:Find("name"))
	end
end

function way_function(way)
	local highway = way:Find("highway")
	if highway ~= "" then
		way:Layer("roads", false)
		way:Attribute("class", highway)
	end
	local waterway = way:Find("waterway")
	if waterway ~= "" then
		way:Layer("water", false)
	end
	if way:Find("natural") == "water" then
		way:Layer("water", true)
	end
end
